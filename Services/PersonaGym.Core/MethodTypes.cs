using Microsoft.Extensions.AI;

namespace PersonaGym.Core;

/// <summary>For one question, an example answer per rubric score 1..5 (paper: written by a strong model at temperature 0).</summary>
public sealed record RubricExemplars(string Question, IReadOnlyDictionary<int, string> AnswerByScore);

/// <summary>One answer to grade, with the exemplars the judge compares it against.</summary>
public sealed record JudgeItem(string Question, string Answer, RubricExemplars Exemplars);

/// <summary>
/// The judge's verdict on one item of a batch. <see cref="ItemIndex"/> is the 0-based position in the batch.
/// Exactly one of <see cref="Score"/> (1..5) and <see cref="Failure"/> is set: an unparseable verdict is a failure,
/// never a 0 (the reference code's 0 leaks into means when every score fails).
/// </summary>
public sealed record JudgeVerdict(int ItemIndex, int? Score, string Reasoning, string? Failure)
{
    /// <summary>The whole reply this verdict was read from (a follow-up's, for an item it filled); null when unknown.</summary>
    public string? RawOutput { get; init; }
}

/// <summary>A model output a stage could not use, with the reason.</summary>
public sealed record RejectedOutput(string Text, string Reason);

/// <summary>
/// What a stage produced: the parsed value, how many model calls it took, the outputs it rejected on the way,
/// the raw text of the accepted output, and the token usage summed over all attempts.
/// </summary>
public sealed record StageResult<T>(T Value, int Attempts, IReadOnlyList<RejectedOutput> Rejected, string RawOutput, UsageDetails? Usage);

/// <summary>Every attempt of a stage was rejected; <see cref="Rejected"/> holds each output and why.</summary>
public sealed class StageFailedException : Exception
{
    public StageFailedException(string stage, IReadOnlyList<RejectedOutput> rejected, UsageDetails? usage = null)
        : base($"The {stage} stage failed after {rejected.Count} attempt(s): {string.Join(" | ", rejected.Select(r => r.Reason))}")
    {
        Stage = stage;
        Rejected = rejected;
        Usage = usage;
    }

    public string Stage { get; }

    public IReadOnlyList<RejectedOutput> Rejected { get; }

    /// <summary>Tokens spent on the failed attempts (they cost money even though nothing came of them).</summary>
    public UsageDetails? Usage { get; }
}

public sealed class MethodOptions
{
    /// <summary>The largest batch an exemplar or judge call may hold.</summary>
    public const int MaxBatchSize = 20;

    /// <summary>
    /// Model calls per stage before it gives up on unparseable output. For judges and exemplar writers, the calls after
    /// the first ask only for the items still missing (bounded follow-up rounds).
    /// </summary>
    public int MaxParseAttempts { get; set; } = 3;

    /// <summary>Answers per exemplar and judge call (paper: 5), the default of <see cref="PersonaGymMethod.Batch{T}"/>.</summary>
    public int BatchSize { get; set; } = 5;

    /// <summary>Questions per task (paper: 10).</summary>
    public int QuestionsPerTask { get; set; } = 10;

    /// <summary>Sampling temperature of the persona agent (reference code: 0.9).</summary>
    public float AgentTemperature { get; set; } = MethodChatOptions.SamplingTemperature;

    /// <summary>Top-p of the persona agent (reference code: 0.9); null sends none.</summary>
    public float? AgentTopP { get; set; } = MethodChatOptions.SamplingTopP;

    /// <summary>Asks for a question list before giving up (reference code: re-asked up to 5 times until exactly N).</summary>
    public int MaxQuestionAttempts { get; set; } = 5;

    /// <summary>The output limit of every call (reference code: 3,000–4,000 tokens).</summary>
    public int MaxOutputTokens { get; set; } = 4000;

    /// <summary>
    /// The output limit of an exemplar or judge call over <paramref name="items"/> items: <see cref="MaxOutputTokens"/>,
    /// raised for batches above five so that every item has room for its reasoning (800 tokens an item, at most 8,192,
    /// the output cap of many current models).
    /// </summary>
    public int OutputTokensFor(int items) => Math.Max(MaxOutputTokens, Math.Min(8192, 800 * items));
}

/// <summary>The stage names every call carries in <c>ChatOptions.AdditionalProperties["personagym.stage"]</c>.</summary>
public static class MethodStages
{
    public const string PropertyKey = "personagym.stage";
    public const string Environments = "environments";
    public const string Questions = "questions";
    public const string Answer = "answer";
    public const string Exemplars = "exemplars";
    public const string Judge = "judge";

    public static IReadOnlyList<string> All { get; } = [Environments, Questions, Answer, Exemplars, Judge];
}
