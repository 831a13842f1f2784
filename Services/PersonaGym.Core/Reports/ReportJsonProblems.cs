using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace PersonaGym.Core.Reports;

/// <summary>
/// Says in the format's own words what is wrong with a report the serializer refused: where (the JSON path and the
/// line) and what, as "<c>$.questionsPerTask (line 11) is a string; a whole number is expected</c>" or
/// "<c>$.models[0].personas[1] (line 40) lacks the required field 'status'</c>". The serializer's messages name our
/// internal record types instead; the generated metadata says what each path should hold.
/// </summary>
internal static class ReportJsonProblems
{
    private const int MaxNamesListed = 5;

    public static string Explain(string json, JsonException error, JsonTypeInfo root)
    {
        if (string.IsNullOrWhiteSpace(json)) return "the text is empty.";
        var line = error.LineNumber is { } l ? $" (line {l + 1})" : "";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return $"it is not valid JSON{line}: {SerializerSentence(error)}.";
        }

        using (document)
        {
            var path = error.Path ?? "$";
            var where = (path == "$" ? "the top level" : path) + line;
            var found = Locate(document.RootElement, root, path);
            var described = found switch
            {
                { BadKey: { } key } => $"{where}: the key \"{key}\" is not a whole number.",
                { } value => Describe(value.Value, value.Type, where),
                null => null,
            };
            return described ?? $"{where}: {SerializerSentence(error)}.";
        }
    }

    private static string? Describe(JsonElement value, JsonTypeInfo type, string where)
    {
        if (value.ValueKind == JsonValueKind.Null ? !AllowsNull(type.Type) : !Accepts(type, value.ValueKind))
            return $"{where} is {Kind(value.ValueKind)}; {Expected(type)} is expected.";

        if (type.Kind == JsonTypeInfoKind.Object && value.ValueKind == JsonValueKind.Object)
        {
            var missing = type.Properties.Where(p => p.IsRequired && !value.TryGetProperty(p.Name, out _)).Select(p => $"'{p.Name}'").ToList();
            if (missing.Count == 0) return null;
            if (missing.Count == 1) return $"{where} lacks the required field {missing[0]}.";
            var listed = string.Join(", ", missing.Take(MaxNamesListed)) + (missing.Count > MaxNamesListed ? $" and {missing.Count - MaxNamesListed} more" : "");
            return $"{where} lacks the required fields {listed}.";
        }

        // The right kind of value, but not one the field takes (a fraction for a count, a string that is not a time).
        return type.Kind == JsonTypeInfoKind.None ? $"{where} is {Shorten(value.GetRawText())}; {Expected(type)} is expected." : null;
    }

    /// <summary>The value at a serializer path ($.models[0].tasks['Expected Action']) and the metadata of what it should be.</summary>
    private static (JsonElement Value, JsonTypeInfo Type, string? BadKey)? Locate(JsonElement root, JsonTypeInfo rootType, string path)
    {
        if (Steps(path) is not { } steps) return null;
        var (value, type) = (root, rootType);
        foreach (var step in steps)
        {
            if (type.Kind == JsonTypeInfoKind.Object && step.Name is { } name && value.ValueKind == JsonValueKind.Object)
            {
                var property = type.Properties.FirstOrDefault(p => p.Name == name);
                if (property is null || !value.TryGetProperty(name, out value)) return null;
                type = type.Options.GetTypeInfo(property.PropertyType);
            }
            else if (type.Kind == JsonTypeInfoKind.Dictionary && step.Name is { } key && value.ValueKind == JsonValueKind.Object)
            {
                // Only the judges' distributions have other keys than text: rubric levels "1"…"5".
                if (type.KeyType != typeof(string) && !int.TryParse(key, out _)) return (value, type, key);
                if (!value.TryGetProperty(key, out value)) return null;
                type = type.Options.GetTypeInfo(type.ElementType!);
            }
            else if (type.Kind == JsonTypeInfoKind.Enumerable && step.Index is { } index && value.ValueKind == JsonValueKind.Array)
            {
                if (index >= value.GetArrayLength()) return null;
                value = value[index];
                type = type.Options.GetTypeInfo(type.ElementType!);
            }
            else
            {
                return null;
            }
        }
        return (value, type, null);
    }

    private readonly record struct Step(string? Name, int? Index);

    // "$", ".name", "['name with spaces']", "[3]"; null for anything else (then the serializer's sentence is used).
    private static List<Step>? Steps(string path)
    {
        if (!path.StartsWith('$')) return null;
        var steps = new List<Step>();
        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                if (end < 0) end = path.Length;
                steps.Add(new Step(path[(i + 1)..end], null));
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                if (end < 0) return null;
                steps.Add(new Step(path[(i + 2)..end], null));
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i + 1);
                if (end < 0 || !int.TryParse(path.AsSpan(i + 1, end - i - 1), out var index)) return null;
                steps.Add(new Step(null, index));
                i = end + 1;
            }
            else
            {
                return null;
            }
        }
        return steps;
    }

    private static bool AllowsNull(Type type) => Nullable.GetUnderlyingType(type) is not null;

    private static bool Accepts(JsonTypeInfo type, JsonValueKind kind) => type.Kind switch
    {
        JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => kind == JsonValueKind.Object,
        JsonTypeInfoKind.Enumerable => kind == JsonValueKind.Array,
        _ => (Nullable.GetUnderlyingType(type.Type) ?? type.Type) switch
        {
            var t when t == typeof(int) || t == typeof(long) || t == typeof(double) => kind == JsonValueKind.Number,
            var t when t == typeof(bool) => kind is JsonValueKind.True or JsonValueKind.False,
            _ => kind == JsonValueKind.String,
        },
    };

    private static string Expected(JsonTypeInfo type)
    {
        var underlying = Nullable.GetUnderlyingType(type.Type);
        var word = type.Kind switch
        {
            JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "an object",
            JsonTypeInfoKind.Enumerable => "an array",
            _ => (underlying ?? type.Type) switch
            {
                var t when t == typeof(int) || t == typeof(long) => "a whole number",
                var t when t == typeof(double) => "a number",
                var t when t == typeof(bool) => "true or false",
                var t when t == typeof(Guid) => "a GUID (\"0f8fad5b-d9cb-469f-a165-70867728950e\")",
                var t when t == typeof(DateTimeOffset) => "an ISO 8601 time with offset (\"2025-03-04T05:06:07.0000000+00:00\")",
                _ => "a string",
            },
        };
        return underlying is null ? word : word + " or null";
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        _ => "null",
    };

    private static string Shorten(string raw) => raw.Length <= 40 ? raw : raw[..39] + "…";

    // The serializer's message without the location it appends (" Path: $.x | LineNumber: 0 | BytePositionInLine: 3.").
    private static string SerializerSentence(JsonException error)
    {
        var location = error.Message.IndexOf(" Path: ", StringComparison.Ordinal);
        return (location >= 0 ? error.Message[..location] : error.Message).TrimEnd('.', ' ');
    }
}
