using System.Collections.ObjectModel;
using System.Text.Encodings.Web;
using System.Text.Json;
using PersonaGym.Core.Scoring;

namespace PersonaGym.Core.Benchmark;

/// <summary>
/// The original PersonaGym benchmark layout: <c>personas.json</c> (a JSON array of persona texts),
/// <c>questions/&lt;persona&gt;.json</c> (an object with the keys "Expected Action", "Action Justification",
/// "Linguistic Habits", "Persona Consistency" and "Toxicity", each a list of question strings; file names per
/// <see cref="BenchmarkFileNames"/>), an optional <c>environments.json</c> (a JSON array of setting names), and the
/// published score files (<c>{"Action Justification": 4.52, …, "Toxicity Control": 4.88, "PersonaScore": 4.51}</c>).
/// </summary>
public static class BenchmarkFormat
{
    /// <summary>The key order of the published score files (alphabetical task names, then the PersonaScore).</summary>
    public static IReadOnlyList<string> ScoreKeys { get; } =
    [
        PersonaTask.ActionJustification.DisplayName(),
        PersonaTask.ExpectedAction.DisplayName(),
        PersonaTask.LinguisticHabits.DisplayName(),
        PersonaTask.PersonaConsistency.DisplayName(),
        PersonaTask.ToxicityControl.DisplayName(),
        PersonaScoreKey,
    ];

    public const string PersonaScoreKey = "PersonaScore";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        IndentSize = 4,
        // Keep persona and question texts readable in the files (accents, quotes, apostrophes).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Reads and checks a benchmark directory item by item. Bad content never throws: every problem found is an
    /// issue (a missing directory too), and all of them are collected, not just the first.
    /// </summary>
    public static BenchmarkReadResult Read(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var issues = new List<BenchmarkIssue>();
        if (!Directory.Exists(directory))
        {
            issues.Add(new(directory, "the benchmark directory does not exist"));
            return new([], null, issues);
        }

        var environments = ReadEnvironments(directory, issues);
        var personaTexts = ReadPersonaList(directory, issues);
        var personas = ReadQuestionFiles(directory, personaTexts, issues);
        return new BenchmarkReadResult(personas, environments, issues);
    }

    /// <summary>
    /// Writes the layout <see cref="Read"/> accepts. The input is checked by the same rules first; anything Read
    /// would report makes this throw <see cref="ArgumentException"/> (listing every problem) before a file is written.
    /// Files of the same name are overwritten; question files of personas not in the list make it throw
    /// <see cref="IOException"/>, since they would be left behind as stray files.
    /// </summary>
    public static void Write(string directory, IReadOnlyList<BenchmarkPersona> personas, IReadOnlyList<string>? environments)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(personas);

        var problems = new List<BenchmarkIssue>();
        CheckWritable(personas, environments, problems);
        if (problems.Count > 0)
            throw new ArgumentException("The benchmark cannot be written: " + string.Join("; ", problems), nameof(personas));

        var texts = personas.Select(p => p.Persona).ToList();
        var fileNames = BenchmarkFileNames.QuestionFileNames(texts);
        var questionsDirectory = Path.Combine(directory, BenchmarkFileNames.QuestionsFolder);
        if (Directory.Exists(questionsDirectory))
        {
            var planned = new HashSet<string>(fileNames, FileNameComparer);
            var stray = Directory.EnumerateFiles(questionsDirectory, "*" + BenchmarkFileNames.Extension)
                .Select(Path.GetFileName).Where(f => !planned.Contains(f!)).Order(StringComparer.Ordinal).ToList();
            if (stray.Count > 0)
                throw new IOException(
                    $"{questionsDirectory} already holds question files of other personas ({stray.Count}, e.g. '{stray[0]}'); " +
                    "write to an empty directory.");
        }

        Directory.CreateDirectory(questionsDirectory);
        WriteJson(Path.Combine(directory, BenchmarkFileNames.PersonasFile), w => WriteStringArray(w, texts));
        for (var i = 0; i < personas.Count; i++)
        {
            var persona = personas[i];
            WriteJson(Path.Combine(questionsDirectory, fileNames[i]), w =>
            {
                w.WriteStartObject();
                foreach (var task in PersonaTasks.All)
                {
                    w.WritePropertyName(task.BenchmarkKey());
                    WriteStringArray(w, persona.Questions[task]);
                }
                w.WriteEndObject();
            });
        }
        if (environments is not null)
            WriteJson(Path.Combine(directory, BenchmarkFileNames.EnvironmentsFile), w => WriteStringArray(w, environments));
    }

    /// <summary>
    /// The published score file for an aggregate: the five task names as the paper prints them, then "PersonaScore",
    /// in the published files' order, each rounded to two decimals (<see cref="PersonaScoring.Round2"/>) and printed
    /// as Python prints floats (4.7, not 4.70; 5.0, not 5), four-space indented, no final newline. A figure that could
    /// not be computed is null. Serialized from <see cref="PublishedScoresJson"/>.
    /// </summary>
    public static string ScoresJson(AggregateScoreReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        double? Published(double? value) => value is { } v ? PersonaScoring.Round2(v) : null;
        double? Task(PersonaTask task) => Published(report.TaskScores.TryGetValue(task, out var score) ? score : null);
        var scores = new PublishedScoresJson
        {
            ActionJustification = Task(PersonaTask.ActionJustification),
            ExpectedAction = Task(PersonaTask.ExpectedAction),
            LinguisticHabits = Task(PersonaTask.LinguisticHabits),
            PersonaConsistency = Task(PersonaTask.PersonaConsistency),
            ToxicityControl = Task(PersonaTask.ToxicityControl),
            PersonaScore = Published(report.PersonaScore),
        };
        return JsonSerializer.Serialize(scores, PublishedScoresJsonContext.Default.PublishedScoresJson);
    }

    /// <summary>The folder of a benchmark that holds the paper's published scores, one JSON file per model.</summary>
    public const string PublishedScoresFolder = "published-scores";

    /// <summary>
    /// Every published score file of a benchmark folder (<see cref="PublishedScoresFolder"/>), keyed by the file's name
    /// without extension, and a message per file that cannot be read; none when the folder has no such subfolder.
    /// </summary>
    public static (IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Scores, IReadOnlyList<string> Issues) ReadPublishedScores(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var scores = new SortedDictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
        var issues = new List<string>();
        var folder = Path.Combine(directory, PublishedScoresFolder);
        if (!Directory.Exists(folder)) return (scores, issues);
        foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                scores[Path.GetFileNameWithoutExtension(file)] = ReadScores(file);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                issues.Add(e.Message);
            }
        }

        return (scores, issues);
    }

    /// <summary>
    /// Reads a published score file, keys in file order. A file that is not a JSON object of numbers throws
    /// <see cref="InvalidDataException"/> (a missing file, <see cref="FileNotFoundException"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, double> ReadScores(string file)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(file);
        var scores = new OrderedDictionary<string, double>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{file}: expected a JSON object of scores, found {Describe(document.RootElement.ValueKind)}.");
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetDouble(out var value))
                    throw new InvalidDataException($"{file}: \"{property.Name}\" is {Describe(property.Value.ValueKind)}, not a number.");
                if (!scores.TryAdd(property.Name, value))
                    throw new InvalidDataException($"{file}: \"{property.Name}\" appears twice.");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: not valid JSON ({e.Message}).", e);
        }
        return new ReadOnlyDictionary<string, double>(scores);
    }

    private static IReadOnlyList<string>? ReadEnvironments(string directory, List<BenchmarkIssue> issues)
    {
        var path = Path.Combine(directory, BenchmarkFileNames.EnvironmentsFile);
        if (!File.Exists(path)) return null; // optional: benchmark mode does not select environments
        var root = ParseFile(path, BenchmarkFileNames.EnvironmentsFile, issues);
        if (root is null) return [];
        return ReadStringList(root.Value, BenchmarkFileNames.EnvironmentsFile, "environment", issues, Text);
    }

    private static List<string> ReadPersonaList(string directory, List<BenchmarkIssue> issues)
    {
        var path = Path.Combine(directory, BenchmarkFileNames.PersonasFile);
        if (!File.Exists(path))
        {
            issues.Add(new(BenchmarkFileNames.PersonasFile, "missing: the benchmark has no persona list"));
            return [];
        }
        var root = ParseFile(path, BenchmarkFileNames.PersonasFile, issues);
        if (root is null) return [];
        return ReadStringList(root.Value, BenchmarkFileNames.PersonasFile, "persona", issues, Personas.Normalize);
    }

    private static List<BenchmarkPersona> ReadQuestionFiles(string directory, List<string> personaTexts, List<BenchmarkIssue> issues)
    {
        var questionsDirectory = Path.Combine(directory, BenchmarkFileNames.QuestionsFolder);
        var personas = new List<BenchmarkPersona>();
        if (!Directory.Exists(questionsDirectory))
        {
            issues.Add(new(BenchmarkFileNames.QuestionsFolder + "/", "missing: the benchmark has no question files"));
            return personas;
        }

        var fileNames = BenchmarkFileNames.QuestionFileNames(personaTexts);
        var claimed = new HashSet<string>(FileNameComparer);
        for (var i = 0; i < personaTexts.Count; i++)
        {
            var persona = personaTexts[i];
            var location = $"{BenchmarkFileNames.QuestionsFolder}/{fileNames[i]}";
            var path = Path.Combine(questionsDirectory, fileNames[i]);
            // A directory written by another tool may use the plain name even where our rule hashes it (e.g. two
            // personas differing only in case, on a case-sensitive disk): accept that file if it is there.
            if (!File.Exists(path) && persona.Length > 0 && persona.IndexOfAny(['/', '\0']) < 0
                && File.Exists(Path.Combine(questionsDirectory, persona + BenchmarkFileNames.Extension)))
            {
                location = $"{BenchmarkFileNames.QuestionsFolder}/{persona}{BenchmarkFileNames.Extension}";
                path = Path.Combine(questionsDirectory, persona + BenchmarkFileNames.Extension);
            }
            claimed.Add(Path.GetFileName(path));
            if (!File.Exists(path))
            {
                issues.Add(new(location, $"missing: no question file for persona {i + 1} of {BenchmarkFileNames.PersonasFile}"));
                continue;
            }
            var root = ParseFile(path, location, issues);
            if (root is null) continue;
            personas.Add(new BenchmarkPersona(persona, ReadQuestions(root.Value, location, issues)));
        }

        foreach (var stray in Directory.EnumerateFiles(questionsDirectory, "*" + BenchmarkFileNames.Extension)
                     .Select(f => Path.GetFileName(f)!).Where(f => !claimed.Contains(f)).Order(StringComparer.Ordinal))
        {
            issues.Add(new($"{BenchmarkFileNames.QuestionsFolder}/{stray}",
                $"no persona in {BenchmarkFileNames.PersonasFile} has this question file"));
        }
        return personas;
    }

    private static IReadOnlyDictionary<PersonaTask, IReadOnlyList<string>> ReadQuestions(
        JsonElement root, string location, List<BenchmarkIssue> issues)
    {
        var questions = PersonaTasks.All.ToDictionary(t => t, _ => (IReadOnlyList<string>)[]);
        if (root.ValueKind != JsonValueKind.Object)
        {
            issues.Add(new(location, $"expected a JSON object with the five task keys, found {Describe(root.ValueKind)}"));
            return questions;
        }

        var seenKeys = new HashSet<PersonaTask>();
        // A question asked twice of the same persona would weigh twice in its scores: compared with white space folded.
        var seenQuestions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var task = PersonaTasks.All.Cast<PersonaTask?>().FirstOrDefault(t => t!.Value.BenchmarkKey() == property.Name);
            if (task is null)
            {
                var hint = PersonaTasks.TryParse(property.Name, out var meant)
                    ? $" (the benchmark key for {meant.DisplayName()} is \"{meant.BenchmarkKey()}\")"
                    : "";
                issues.Add(new($"{location}: \"{property.Name}\"", $"unknown key{hint}; the keys are {KeyList()}"));
                continue;
            }
            if (!seenKeys.Add(task.Value))
            {
                issues.Add(new($"{location}: \"{property.Name}\"", "the key appears twice"));
                continue;
            }

            var itemLocation = $"{location}: {property.Name}";
            if (property.Value.ValueKind != JsonValueKind.Array)
            {
                issues.Add(new(itemLocation, $"expected a list of questions, found {Describe(property.Value.ValueKind)}"));
                continue;
            }
            if (property.Value.GetArrayLength() == 0)
            {
                issues.Add(new(itemLocation, "the list of questions is empty"));
                continue;
            }

            var list = new List<string>();
            var index = 0;
            foreach (var item in property.Value.EnumerateArray())
            {
                var at = $"{itemLocation}[{index++}]";
                if (item.ValueKind != JsonValueKind.String)
                {
                    issues.Add(new(at, $"expected a question (a string), found {Describe(item.ValueKind)}"));
                    continue;
                }
                var question = item.GetString()!;
                if (string.IsNullOrWhiteSpace(question))
                {
                    issues.Add(new(at, "the question is empty"));
                    continue;
                }
                if (seenQuestions.TryGetValue(Personas.Normalize(question), out var first))
                {
                    issues.Add(new(at, $"duplicate of {first}"));
                    continue;
                }
                seenQuestions[Personas.Normalize(question)] = $"{property.Name}[{index - 1}]";
                list.Add(question);
            }
            questions[task.Value] = list;
        }

        foreach (var missing in PersonaTasks.All.Where(t => !seenKeys.Contains(t)))
            issues.Add(new(location, $"missing key \"{missing.BenchmarkKey()}\""));
        return questions;
    }

    /// <summary>Reads a JSON array of distinct, non-empty strings, reporting each bad entry by index.</summary>
    private static List<string> ReadStringList(
        JsonElement root, string location, string what, List<BenchmarkIssue> issues, Func<string, string> identity)
    {
        var values = new List<string>();
        if (root.ValueKind != JsonValueKind.Array)
        {
            issues.Add(new(location, $"expected a JSON array of {what}s, found {Describe(root.ValueKind)}"));
            return values;
        }
        if (root.GetArrayLength() == 0) issues.Add(new(location, $"the list of {what}s is empty"));

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var index = 0;
        foreach (var item in root.EnumerateArray())
        {
            var at = $"{location}[{index++}]";
            if (item.ValueKind != JsonValueKind.String)
            {
                issues.Add(new(at, $"expected a {what} (a string), found {Describe(item.ValueKind)}"));
                continue;
            }
            var value = item.GetString()!;
            var problem = what == "persona"
                ? Personas.Validate(value)
                : string.IsNullOrWhiteSpace(value) ? $"the {what} is empty" : null;
            if (problem is not null)
            {
                issues.Add(new(at, problem));
                continue;
            }
            if (!seen.TryAdd(identity(value), index - 1))
            {
                issues.Add(new(at, $"duplicate of {location}[{seen[identity(value)]}]"));
                continue;
            }
            values.Add(value);
        }
        return values;
    }

    /// <summary>The checks of <see cref="Read"/>, applied to what is about to be written.</summary>
    private static void CheckWritable(IReadOnlyList<BenchmarkPersona> personas, IReadOnlyList<string>? environments, List<BenchmarkIssue> problems)
    {
        if (personas.Count == 0) problems.Add(new(BenchmarkFileNames.PersonasFile, "there are no personas"));
        var seenPersonas = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < personas.Count; i++)
        {
            var persona = personas[i];
            var at = $"{BenchmarkFileNames.PersonasFile}[{i}]";
            if (persona is null) { problems.Add(new(at, "the persona is null")); continue; }
            if (Personas.Validate(persona.Persona) is { } problem) { problems.Add(new(at, problem)); continue; }
            if (!seenPersonas.TryAdd(Personas.Normalize(persona.Persona), i))
                problems.Add(new(at, $"duplicate of {BenchmarkFileNames.PersonasFile}[{seenPersonas[Personas.Normalize(persona.Persona)]}]"));

            var seenQuestions = new HashSet<string>(StringComparer.Ordinal);
            foreach (var task in PersonaTasks.All)
            {
                var where = $"{at}: {task.BenchmarkKey()}";
                if (persona.Questions is null || !persona.Questions.TryGetValue(task, out var list) || list is null || list.Count == 0)
                {
                    problems.Add(new(where, "no questions"));
                    continue;
                }
                for (var q = 0; q < list.Count; q++)
                {
                    if (string.IsNullOrWhiteSpace(list[q])) problems.Add(new($"{where}[{q}]", "the question is empty"));
                    else if (!seenQuestions.Add(Personas.Normalize(list[q]))) problems.Add(new($"{where}[{q}]", "duplicate question"));
                }
            }
        }

        if (environments is null) return;
        var seenEnvironments = new HashSet<string>(StringComparer.Ordinal);
        if (environments.Count == 0) problems.Add(new(BenchmarkFileNames.EnvironmentsFile, "the list of environments is empty"));
        for (var i = 0; i < environments.Count; i++)
        {
            var at = $"{BenchmarkFileNames.EnvironmentsFile}[{i}]";
            if (string.IsNullOrWhiteSpace(environments[i])) problems.Add(new(at, "the environment is empty"));
            else if (!seenEnvironments.Add(environments[i])) problems.Add(new(at, "duplicate environment"));
        }
    }

    private static JsonElement? ParseFile(string path, string location, List<BenchmarkIssue> issues)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            issues.Add(new(location, $"not valid JSON: {e.Message}"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            issues.Add(new(location, $"cannot be read: {e.Message}"));
        }
        return null;
    }

    private static void WriteJson(string path, Action<Utf8JsonWriter> write)
    {
        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream, WriterOptions);
        write(writer);
    }

    private static void WriteStringArray(Utf8JsonWriter writer, IEnumerable<string> values)
    {
        writer.WriteStartArray();
        foreach (var value in values) writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    private static string Text(string value) => value;

    private static string KeyList() => string.Join(", ", PersonaTasks.All.Select(t => $"\"{t.BenchmarkKey()}\""));

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    // Linux file systems tell names apart by case; the usual macOS and Windows ones do not.
    private static StringComparer FileNameComparer =>
        OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
}
