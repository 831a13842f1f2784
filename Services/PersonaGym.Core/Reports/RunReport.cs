using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Reports;

/// <summary>Texts every report format shares.</summary>
public static class ReportText
{
    /// <summary>Said by every report of a run that used an offline model: its numbers come from a hash, not a model.</summary>
    public const string OfflineDisclaimer = Offline.OfflineChatClient.Disclaimer;

    /// <summary>The provider prefix of the deterministic offline models (model spec <c>offline:&lt;name&gt;</c>).</summary>
    public const string OfflineProviderPrefix = "offline:";

    public static bool IsOfflineModel(string? modelSpec) =>
        modelSpec is not null && modelSpec.TrimStart().StartsWith(OfflineProviderPrefix, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// The result of one run, as the CLI's <c>--output FILE</c> and the Api's results endpoint return it. Filled from the
/// database by the caller; written by <see cref="RunReportWriter"/>. The JSON shape is documented in docs/output-format.md.
/// </summary>
public sealed record RunReport
{
    public required Guid RunId { get; init; }
    public string? Name { get; init; }
    public required string Status { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The questions' origin: a benchmark name, or a description of the generated set.</summary>
    public required string QuestionSet { get; init; }
    public required int QuestionsPerTask { get; init; }
    public required IReadOnlyList<string> Judges { get; init; }
    public required string QuestionWriter { get; init; }

    /// <summary>
    /// Where a run that writes its questions took their environments from (the pool the question writer selected from,
    /// or the fixed list); null when the run used a stored question set. The paper's pool is personagym-benchmark-v1's 150.
    /// </summary>
    public string? Environments { get; init; }
    public required string ExemplarWriter { get; init; }

    /// <summary>One entry per model under test, in the run's order.</summary>
    public required IReadOnlyList<ModelReport> Models { get; init; }
    public required UsageReport Usage { get; init; }
    public JudgeValidityReport? JudgeValidity { get; init; }

    /// <summary>Failed items with their reasons (stalled or failed batches, poison messages…), as plain sentences.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>Conditions that weaken the result without being failures (a single judge, means that include incomplete personas…).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>
    /// True when any model the run names (under test, judge, question or exemplar writer, or seen in usage) is an
    /// <c>offline:</c> model. Derived rather than stored so that no report of such a run can pass for an evaluation.
    /// </summary>
    public bool Offline =>
        Models.Any(m => ReportText.IsOfflineModel(m.Agent))
        || Judges.Any(ReportText.IsOfflineModel)
        || ReportText.IsOfflineModel(QuestionWriter)
        || ReportText.IsOfflineModel(ExemplarWriter)
        || Usage.Lines.Any(l => ReportText.IsOfflineModel(l.Model));

    /// <summary><see cref="ReportText.OfflineDisclaimer"/> when <see cref="Offline"/>, else null.</summary>
    public string? Disclaimer => Offline ? ReportText.OfflineDisclaimer : null;
}

/// <summary>One model under test: its mean over personas and each persona's scores.</summary>
public sealed record ModelReport(string Agent, AggregateScoreReport Overall, IReadOnlyList<PersonaResult> Personas);

/// <summary>One persona's outcome for one model under test.</summary>
/// <param name="Status">The persona's state in the run (e.g. Completed, Failed, Running), as the pipeline names it.</param>
public sealed record PersonaResult(string Persona, string Status, PersonaScoreReport Scores);

/// <summary>LLM usage of a run, one line per stage and model.</summary>
public sealed record UsageReport(IReadOnlyList<UsageLine> Lines)
{
    public static UsageReport Empty { get; } = new([]);

    public long Calls => Lines.Sum(l => l.Calls);
    public long CacheHits => Lines.Sum(l => l.CacheHits);
    public long InputTokens => Lines.Sum(l => l.InputTokens);
    public long OutputTokens => Lines.Sum(l => l.OutputTokens);
    public long Failures => Lines.Sum(l => l.Failures);
}

/// <param name="Stage">The usage accounting's stage tag (environments, questions, answer, exemplars, judge).</param>
/// <param name="Calls">Calls made, cache hits included.</param>
/// <param name="CacheHits">Calls answered by the response cache (no tokens paid for them).</param>
/// <param name="Failures">Calls that failed (errors, timeouts) after retries.</param>
public sealed record UsageLine(string Stage, string Model, long Calls, long CacheHits, long InputTokens, long OutputTokens, long Failures);
