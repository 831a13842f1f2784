using System.Text.Json;
using System.Text.Json.Serialization;

namespace PersonaGym.Core.Reports;

// The JSON report of docs/output-format.md, field for field: these records are the file format, RunReport is the
// domain. Properties are declared in the documented order (the serializer writes them in declaration order).
// `required` marks what a report must have to be read; the rest is either derived (recomputed on reading, so it
// cannot disagree with the fields it comes from) or was added after format version 1 was published (absent from
// older files). Task-keyed objects are dictionaries filled in the paper's order, keyed by the printed task names.

internal sealed record RunReportJson
{
    public required int FormatVersion { get; init; }
    public required Guid RunId { get; init; }
    public string? Name { get; init; }
    public required string Status { get; init; }

    [JsonConverter(typeof(RoundTripTimeConverter))]
    public required DateTimeOffset CreatedAt { get; init; }

    [JsonConverter(typeof(RoundTripTimeConverter))]
    public required DateTimeOffset? CompletedAt { get; init; }

    public bool Offline { get; init; }
    public string? Disclaimer { get; init; }
    public required string QuestionSet { get; init; }
    public required int QuestionsPerTask { get; init; }
    public required IReadOnlyList<string> Judges { get; init; }
    public required string QuestionWriter { get; init; }
    public string? Environments { get; init; }
    public required string ExemplarWriter { get; init; }
    public required IReadOnlyList<ModelJson> Models { get; init; }
    public required UsageJson Usage { get; init; }
    public required JudgeValidityJson? JudgeValidity { get; init; }
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>Absent from the first files. No initializer: the generated reader sets a missing init-only property to null.</summary>
    public IReadOnlyList<string>? Warnings { get; init; }
}

/// <summary>
/// A report's run id, offline flag, disclaimer and judge validity section as the report holds them (the rest of a
/// report is skipped on reading): what <c>GET /api/runs/{id}/validity</c> answers.
/// </summary>
internal sealed record JudgeValidityViewJson
{
    public required Guid RunId { get; init; }
    public bool Offline { get; init; }
    public string? Disclaimer { get; init; }
    public required JudgeValidityJson? JudgeValidity { get; init; }
}

/// <summary>Only the version of a report, read on its own when the whole cannot be: a newer format explains why.</summary>
internal sealed record FormatVersionJson(int? FormatVersion);

internal sealed record ModelJson
{
    public required string Agent { get; init; }
    public required OverallJson Overall { get; init; }
    public required IReadOnlyList<PersonaJson> Personas { get; init; }
}

internal sealed record OverallJson
{
    public double? PersonaScore { get; init; }
    public required IReadOnlyDictionary<string, double?> Tasks { get; init; }
    public required int Personas { get; init; }
    public required int PersonasWithScore { get; init; }
    public int CompletePersonas { get; init; }
    public int PersonasLeftOut { get; init; }
    public bool IncludesIncompletePersonas { get; init; }
    public required IReadOnlyDictionary<string, int> PersonasWithTaskScore { get; init; }
    public required int ParseFailures { get; init; }

    /// <summary>The published tables' two-decimal figures: written for convenience, derived on reading.</summary>
    public IReadOnlyDictionary<string, double?>? Rounded { get; init; }
}

internal sealed record PersonaJson
{
    public required string Persona { get; init; }
    public required string Status { get; init; }
    public double? PersonaScore { get; init; }
    public bool Complete { get; init; }
    public string? Failure { get; init; }
    public required int Judgements { get; init; }
    public required int ParseFailures { get; init; }
    public int MissingBatches { get; init; }
    public int MissingJudgements { get; init; }
    public required IReadOnlyDictionary<string, TaskScoreJson> Tasks { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }
}

internal sealed record TaskScoreJson
{
    public double? Score { get; init; }
    public required int Batches { get; init; }
    public required int ScoredBatches { get; init; }

    /// <summary>Absent from files written before the run's plan was recorded: then the batches seen.</summary>
    public int? ExpectedBatches { get; init; }
    public int MissingBatches { get; init; }
    public int MissingJudgements { get; init; }
    public bool Complete { get; init; }
    public required int Items { get; init; }
    public required int Judgements { get; init; }
    public required int ParseFailures { get; init; }
}

internal sealed record UsageJson
{
    /// <summary>The lines summed: written for convenience, derived on reading.</summary>
    public UsageTotalsJson? Totals { get; init; }
    public required IReadOnlyList<UsageLineJson> Lines { get; init; }
}

internal sealed record UsageTotalsJson(long Calls, long CacheHits, long InputTokens, long OutputTokens, long Failures);

internal sealed record UsageLineJson
{
    public required string Stage { get; init; }
    public required string Model { get; init; }
    public required long Calls { get; init; }
    public required long CacheHits { get; init; }
    public required long InputTokens { get; init; }
    public required long OutputTokens { get; init; }
    public required long Failures { get; init; }
}

internal sealed record JudgeValidityJson
{
    public required ValiditySectionJson Overall { get; init; }
    public required IReadOnlyDictionary<string, ValiditySectionJson> Tasks { get; init; }
}

internal sealed record ValiditySectionJson
{
    public required int Items { get; init; }
    public required IReadOnlyList<JudgeSummaryJson> Judges { get; init; }
    public required IReadOnlyList<JudgePairJson> Pairs { get; init; }
}

internal sealed record JudgeSummaryJson
{
    public required string Judge { get; init; }
    public required int Judgements { get; init; }
    public required int ParseFailures { get; init; }
    public double? ParseFailureRate { get; init; }

    /// <summary>Rubric level ("1"…"5") → how often it was given, in level order.</summary>
    public required IReadOnlyDictionary<int, int> Distribution { get; init; }
}

internal sealed record JudgePairJson
{
    public required string JudgeA { get; init; }
    public required string JudgeB { get; init; }
    public required int Items { get; init; }
    public double? Pearson { get; init; }
    public double? Spearman { get; init; }
    public double? KendallTauB { get; init; }
    public double? MeanAbsoluteDifference { get; init; }
    public double? ExactAgreementRate { get; init; }
}

/// <summary>
/// The generated (reflection-free) serialization metadata of the JSON report. Layout and escaping come from the
/// <see cref="Utf8JsonWriter"/> it writes to (<see cref="RunReportWriter"/>); reading is strict about what the format
/// requires: required fields present, nulls only where the format allows them, values of the documented types.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(RunReportJson))]
[JsonSerializable(typeof(JudgeValidityJson))]
[JsonSerializable(typeof(FormatVersionJson))]
[JsonSerializable(typeof(JudgeValidityViewJson))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

/// <summary>
/// Times as the round-trip form ("O": <c>2025-03-04T05:06:07.0000000+00:00</c>, seven fraction digits always), the
/// documented shape; the default converter drops trailing zero fractions. Reading accepts any ISO 8601 time.
/// </summary>
internal sealed class RoundTripTimeConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var time)
            ? time
            : throw new JsonException("expected an ISO 8601 time with offset, such as \"2025-03-04T05:06:07.0000000+00:00\"");

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(RunReportWriter.FormatTime(value));
}
