using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PersonaGym.Core.Benchmark;

/// <summary>
/// The original benchmark's published score file, field for field: the five task names as the paper prints them
/// (alphabetical), then "PersonaScore", in the published files' order (the serializer writes declaration order).
/// A figure that could not be computed is null; the names here are <see cref="BenchmarkFormat.ScoreKeys"/>.
/// </summary>
internal sealed record PublishedScoresJson
{
    [JsonPropertyName("Action Justification")]
    public required double? ActionJustification { get; init; }

    [JsonPropertyName("Expected Action")]
    public required double? ExpectedAction { get; init; }

    [JsonPropertyName("Linguistic Habits")]
    public required double? LinguisticHabits { get; init; }

    [JsonPropertyName("Persona Consistency")]
    public required double? PersonaConsistency { get; init; }

    [JsonPropertyName("Toxicity Control")]
    public required double? ToxicityControl { get; init; }

    [JsonPropertyName(BenchmarkFormat.PersonaScoreKey)]
    public required double? PersonaScore { get; init; }
}

/// <summary>
/// The published files' layout, as Python's <c>json.dump(scores, f, indent=4)</c> writes it: four-space indent,
/// "\n" line ends, no final newline (the serializer adds none), nulls written; numbers per <see cref="PythonFloatConverter"/>.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    IndentSize = 4,
    NewLine = "\n",
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(PythonFloatConverter)])]
[JsonSerializable(typeof(PublishedScoresJson))]
internal sealed partial class PublishedScoresJsonContext : JsonSerializerContext;

/// <summary>
/// Numbers as Python's json prints floats (by repr): the shortest text that round-trips, always with a decimal point
/// (5.0, not 5 as the default converter writes). Reading takes any JSON number.
/// </summary>
internal sealed class PythonFloatConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        // Not finite: no JSON number exists, and Python would write NaN, which no strict reader reads.
        if (!double.IsFinite(value)) throw new JsonException($"A score must be a finite number, not {value}.");
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        writer.WriteRawValue(text.Contains('.') || text.Contains('E') ? text : text + ".0");
    }
}
