using System.Globalization;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;
using PersonaGym.Core;

namespace PersonaGym.Pipeline.Input;

/// <summary>One persona and where it came from, so an error can point at it.</summary>
public sealed record PersonaEntry(string Text, string Origin);

/// <summary>Personas read from arguments and files, or every problem found in them.</summary>
public sealed record PersonaInputResult(IReadOnlyList<PersonaEntry> Personas, IReadOnlyList<string> Errors)
{
    public bool IsValid => Errors.Count == 0 && Personas.Count > 0;
}

/// <summary>
/// Reads personas from command-line values and files: one per line (.txt and anything unrecognised),
/// a JSON array of strings or of objects with a "persona" field (.json), JSON Lines (.jsonl/.ndjson),
/// or CSV with a "persona" column (.csv). Every problem is reported with its file and line; nothing is
/// half-accepted.
/// </summary>
public static class PersonaInput
{
    public static PersonaInputResult Read(IEnumerable<string> inline, IEnumerable<string> files) =>
        Read(inline, files, (file, entries, errors) => ReadFile(file, entries, errors));

    /// <summary>As <see cref="Read(IEnumerable{string}, IEnumerable{string})"/>, for files already in memory (uploads): the name's extension picks the format.</summary>
    public static PersonaInputResult ReadUploads(IEnumerable<string> inline, IEnumerable<(string Name, string Content)> files) =>
        Read(inline, files, (file, entries, errors) => ReadContent(file.Name, file.Content, entries, errors));

    private static PersonaInputResult Read<TFile>(IEnumerable<string> inline, IEnumerable<TFile> files, Action<TFile, List<PersonaEntry>, List<string>> readFile)
    {
        var entries = new List<PersonaEntry>();
        var errors = new List<string>();
        var position = 0;
        foreach (var text in inline)
        {
            position++;
            entries.Add(new PersonaEntry(text, $"--persona #{position}"));
        }

        foreach (var file in files)
        {
            readFile(file, entries, errors);
        }

        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var accepted = new List<PersonaEntry>();
        foreach (var entry in entries)
        {
            var problem = Personas.Validate(entry.Text);
            if (problem is not null)
            {
                errors.Add($"{entry.Origin}: {problem}");
                continue;
            }

            var normalized = Personas.Normalize(entry.Text);
            if (seen.TryGetValue(normalized, out var first))
            {
                errors.Add($"{entry.Origin}: duplicate persona (same as {first})");
                continue;
            }

            seen[normalized] = entry.Origin;
            accepted.Add(entry with { Text = normalized });
        }

        if (accepted.Count == 0 && errors.Count == 0)
        {
            errors.Add("no personas given: pass --persona \"…\" or --personas FILE");
        }

        return new PersonaInputResult(accepted, errors);
    }

    private static void ReadFile(string file, List<PersonaEntry> entries, List<string> errors)
    {
        string content;
        try
        {
            content = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add($"{file}: cannot be read ({ex.Message})");
            return;
        }

        ReadContent(file, content, entries, errors);
    }

    private static void ReadContent(string file, string content, List<PersonaEntry> entries, List<string> errors)
    {
        var extension = Path.GetExtension(file).ToLowerInvariant();
        var before = entries.Count;
        switch (extension)
        {
            case ".json":
                ReadJsonArray(file, content, entries, errors);
                break;
            case ".jsonl" or ".ndjson":
                ReadJsonLines(file, content, entries, errors);
                break;
            case ".csv":
                ReadCsv(file, content, entries, errors);
                break;
            default:
                ReadLines(file, content, entries);
                break;
        }

        if (entries.Count == before && !errors.Any(e => e.StartsWith(file + ":", StringComparison.Ordinal)))
        {
            errors.Add($"{file}: contains no personas");
        }
    }

    private static void ReadLines(string file, string content, List<PersonaEntry> entries)
    {
        var lines = content.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            entries.Add(new PersonaEntry(line, $"{file}:{i + 1}"));
        }
    }

    private static void ReadJsonArray(string file, string content, List<PersonaEntry> entries, List<string> errors)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            errors.Add($"{file}: not valid JSON ({ex.Message})");
            return;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                errors.Add($"{file}: expected a JSON array of personas, found {document.RootElement.ValueKind}");
                return;
            }

            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                AddJsonElement(element, $"{file}[{index}]", entries, errors);
                index++;
            }
        }
    }

    private static void ReadJsonLines(string file, string content, List<PersonaEntry> entries, List<string> errors)
    {
        var lines = content.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0) continue;
            var origin = $"{file}:{i + 1}";
            try
            {
                using var document = JsonDocument.Parse(line);
                AddJsonElement(document.RootElement, origin, entries, errors);
            }
            catch (JsonException ex)
            {
                errors.Add($"{origin}: not valid JSON ({ex.Message})");
            }
        }
    }

    private static void AddJsonElement(JsonElement element, string origin, List<PersonaEntry> entries, List<string> errors)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                entries.Add(new PersonaEntry(element.GetString()!, origin));
                break;
            case JsonValueKind.Object when TryGetPersonaProperty(element, out var value):
                entries.Add(new PersonaEntry(value, origin));
                break;
            case JsonValueKind.Object:
                errors.Add($"{origin}: object has no string \"persona\" field");
                break;
            default:
                errors.Add($"{origin}: expected a string or an object with a \"persona\" field, found {element.ValueKind}");
                break;
        }
    }

    private static bool TryGetPersonaProperty(JsonElement element, out string value)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name.Equals("persona", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.String)
            {
                value = property.Value.GetString()!;
                return true;
            }
        }

        value = "";
        return false;
    }

    private static void ReadCsv(string file, string content, List<PersonaEntry> entries, List<string> errors)
    {
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            PrepareHeaderForMatch = args => args.Header.Trim().ToLowerInvariant(),
            BadDataFound = null,
            MissingFieldFound = null,
            DetectDelimiter = true,
        };
        try
        {
            using var reader = new StringReader(content);
            using var csv = new CsvReader(reader, configuration);
            if (!csv.Read() || !csv.ReadHeader())
            {
                errors.Add($"{file}: empty CSV (expected a header row with a \"persona\" column)");
                return;
            }

            var column = Array.FindIndex(csv.HeaderRecord ?? [], h => h.Trim().Equals("persona", StringComparison.OrdinalIgnoreCase));
            if (column < 0)
            {
                errors.Add($"{file}: CSV has no \"persona\" column (columns: {string.Join(", ", csv.HeaderRecord ?? [])})");
                return;
            }

            while (csv.Read())
            {
                var row = csv.Parser.Row;
                entries.Add(new PersonaEntry(csv.GetField(column) ?? "", $"{file}:{row}"));
            }
        }
        catch (CsvHelperException ex)
        {
            errors.Add($"{file}: malformed CSV ({ex.Message.Split('\n')[0]})");
        }
    }
}
