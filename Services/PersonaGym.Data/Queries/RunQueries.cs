using Microsoft.EntityFrameworkCore;
using PersonaGym.Core.Planning;

namespace PersonaGym.Data;

/// <summary>Where a run stands, stage by stage, from the stored rows.</summary>
public sealed record RunSummary(
    Guid RunId,
    string Name,
    RunStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt,
    bool UsesOfflineModels,
    string? Error,
    IReadOnlyList<string> Agents,
    IReadOnlyList<string> Judges,
    PersonaProgress Personas,
    BatchProgress Batches,
    int Answers,
    int Judgements,
    int ParseFailures,
    LlmUsage Usage,
    IReadOnlyList<LlmStageUsage> UsageByStage,
    RunStallInfo? Stalled = null)
{
    /// <summary>
    /// The current concurrency limit of each of the run's models, summed over the processes that reported it in the
    /// last <see cref="RunQueries.ConcurrencyReportsFreshFor"/>; empty when none did (e.g. the run is finished).
    /// </summary>
    public IReadOnlyList<ModelConcurrencySummary> Concurrency { get; init; } = [];

    /// <summary>What the run's paid tokens cost per stage and model, by the operator's price list; null when read without one.</summary>
    public MoneyCost? Cost { get; init; }
}

/// <summary>Why a running run cannot progress, and since when (see <c>Run.Stall</c>); null while it progresses.</summary>
public sealed record RunStallInfo(string Reason, DateTimeOffset Since);

/// <summary>What the processes working for a run allow one model now (<see cref="ModelConcurrencyReport"/>).</summary>
/// <param name="Limit">The adaptive limits of all reporting processes, summed: the calls the model may have in flight at once.</param>
/// <param name="Processes">How many processes reported it.</param>
public sealed record ModelConcurrencySummary(string Model, int Limit, int InFlight, int Waiting, int Processes, DateTimeOffset ReportedAt);

/// <param name="QuestionsReady">Personas whose questions are stored and ready to answer.</param>
public sealed record PersonaProgress(int Total, int QuestionsReady, int Completed, int Failed);

/// <param name="Planned">Batches × agents for the personas whose questions are ready: the work the run will do.</param>
/// <param name="Tracked">BatchWork rows created so far.</param>
public sealed record BatchProgress(int Planned, int Tracked, int Answering, int Judging, int Done, int Failed)
{
    /// <summary>Batches whose answers are all stored (being judged or done).</summary>
    public int Answered => Judging + Done;

    /// <summary>Batches every judge has graded.</summary>
    public int Judged => Done;
}

public sealed record LlmUsage(int Calls, int CacheHits, int Failures, long InputTokens, long OutputTokens);

public sealed record LlmStageUsage(LlmCallStage Stage, LlmUsage Usage);

/// <summary>One stage and model of a run's calls (<see cref="RunQueries.UsageByStageAndModelAsync"/>).</summary>
/// <param name="PaidInputTokens">Input tokens of the calls that reached the model (not answered by the cache).</param>
public sealed record StageModelUsage(
    LlmCallStage Stage, string Model, int Calls, int CacheHits, int Failures,
    long InputTokens, long OutputTokens, long PaidInputTokens, long PaidOutputTokens);

/// <summary>One agent of one run on the leaderboard; its scores come from <c>PersonaScoreComputation</c>.</summary>
/// <param name="Personas">The run's personas, judged or not.</param>
public sealed record LeaderboardRow(
    Guid RunId,
    string RunName,
    DateTimeOffset RunCreatedAt,
    RunStatus RunStatus,
    bool UsesOfflineModels,
    Guid QuestionSetId,
    Guid AgentId,
    string AgentSpec,
    int Personas);

public static class RunQueries
{
    /// <summary>Concurrency reports older than this belong to a process that stopped, and are not shown.</summary>
    public static readonly TimeSpan ConcurrencyReportsFreshFor = TimeSpan.FromSeconds(30);

    /// <summary>The run's progress and usage, or null when there is no such run.</summary>
    public static Task<RunSummary?> RunSummaryAsync(this PersonaGymDbContext db, Guid runId, CancellationToken cancellationToken = default) =>
        db.RunSummaryAsync(runId, pricing: null, cancellationToken);

    /// <summary>The run's progress and usage, with its cost by <paramref name="pricing"/> when given; null when there is no such run.</summary>
    public static async Task<RunSummary?> RunSummaryAsync(this PersonaGymDbContext db, Guid runId, ModelPricing? pricing, CancellationToken cancellationToken = default)
    {
        var run = await db.Runs.AsNoTracking().Where(r => r.Id == runId)
            .Select(r => new { r.Name, r.Status, r.CreatedAt, r.CompletedAt, r.UsesOfflineModels, r.Error, r.ExemplarWriterSpec, r.Stall, r.StalledSince })
            .FirstOrDefaultAsync(cancellationToken);
        if (run is null) return null;

        var models = await db.RunModels.AsNoTracking().Where(m => m.RunId == runId)
            .Select(m => new { m.Role, m.Spec, m.Ordinal }).ToListAsync(cancellationToken);
        var concurrency = await db.ModelConcurrencyAsync(
            [.. models.Select(m => m.Spec), run.ExemplarWriterSpec],
            DateTimeOffset.UtcNow - ConcurrencyReportsFreshFor, cancellationToken);
        var agents = models.Where(m => m.Role == RunModelRole.Agent).OrderBy(m => m.Ordinal).Select(m => m.Spec).ToList();
        var judges = models.Where(m => m.Role == RunModelRole.Judge).OrderBy(m => m.Ordinal).Select(m => m.Spec).ToList();

        var personas = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == runId)
            .Select(p => new
            {
                p.Status,
                Ready = p.QuestionSetPersona != null && p.QuestionSetPersona.Status == QuestionSetPersonaStatus.Ready,
            })
            .ToListAsync(cancellationToken);

        var readyBatches = await db.RunPersonas.AsNoTracking()
            .Where(p => p.RunId == runId && p.QuestionSetPersona != null && p.QuestionSetPersona.Status == QuestionSetPersonaStatus.Ready)
            .SelectMany(p => p.QuestionSetPersona!.Batches)
            .CountAsync(cancellationToken);

        var stages = await db.BatchWork.AsNoTracking().Where(w => w.RunId == runId)
            .GroupBy(w => w.Stage).Select(g => new { Stage = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Stage, g => g.Count, cancellationToken);
        int AtStage(BatchStage stage) => stages.GetValueOrDefault(stage);

        var answers = await db.Answers.AsNoTracking().CountAsync(a => a.RunId == runId, cancellationToken);
        var judgements = await db.Judgements.AsNoTracking().CountAsync(j => j.RunId == runId, cancellationToken);
        var parseFailures = await db.Judgements.AsNoTracking().CountAsync(j => j.RunId == runId && j.Score == null, cancellationToken);

        var usageLines = await db.UsageByStageAndModelAsync(runId, cancellationToken);
        var usageByStage = usageLines.GroupBy(l => l.Stage).OrderBy(g => g.Key)
            .Select(g => new LlmStageUsage(g.Key, new LlmUsage(g.Sum(l => l.Calls), g.Sum(l => l.CacheHits), g.Sum(l => l.Failures), g.Sum(l => l.InputTokens), g.Sum(l => l.OutputTokens))))
            .ToList();
        var cost = pricing?.Price(usageLines.OrderBy(l => l.Stage).ThenBy(l => l.Model, StringComparer.Ordinal)
            .Select(l => (LlmCallStages.Name(l.Stage), l.Model, l.PaidInputTokens, l.PaidOutputTokens)));
        var usage = new LlmUsage(
            usageByStage.Sum(s => s.Usage.Calls),
            usageByStage.Sum(s => s.Usage.CacheHits),
            usageByStage.Sum(s => s.Usage.Failures),
            usageByStage.Sum(s => s.Usage.InputTokens),
            usageByStage.Sum(s => s.Usage.OutputTokens));

        return new RunSummary(
            runId, run.Name, run.Status, run.CreatedAt, run.CompletedAt, run.UsesOfflineModels, run.Error,
            agents, judges,
            new PersonaProgress(
                personas.Count,
                personas.Count(p => p.Ready),
                personas.Count(p => p.Status == RunPersonaStatus.Completed),
                personas.Count(p => p.Status == RunPersonaStatus.Failed)),
            new BatchProgress(
                readyBatches * agents.Count,
                stages.Values.Sum(),
                AtStage(BatchStage.Answering),
                AtStage(BatchStage.Judging),
                AtStage(BatchStage.Done),
                AtStage(BatchStage.Failed)),
            answers, judgements, parseFailures, usage, usageByStage,
            run.Stall is { } stall && run.Status is RunStatus.Pending or RunStatus.Running
                ? new RunStallInfo(stall, run.StalledSince ?? run.CreatedAt)
                : null)
        {
            Concurrency = concurrency,
            Cost = cost,
        };
    }

    /// <summary>
    /// A run's LLM calls per stage and model, in one query: what they used (cache hits included), and the tokens that
    /// were paid for (cache hits cost nothing), which its cost is priced on.
    /// </summary>
    public static Task<List<StageModelUsage>> UsageByStageAndModelAsync(this PersonaGymDbContext db, Guid runId, CancellationToken cancellationToken = default) =>
        db.LlmCalls.AsNoTracking().Where(c => c.RunId == runId)
            .GroupBy(c => new { c.Stage, c.Model })
            .Select(g => new StageModelUsage(
                g.Key.Stage,
                g.Key.Model,
                g.Count(),
                g.Count(c => c.CacheHit),
                g.Count(c => !c.Succeeded),
                g.Sum(c => (long?)c.InputTokens) ?? 0,
                g.Sum(c => (long?)c.OutputTokens) ?? 0,
                g.Sum(c => c.CacheHit ? 0 : (long?)c.InputTokens) ?? 0,
                g.Sum(c => c.CacheHit ? 0 : (long?)c.OutputTokens) ?? 0))
            .ToListAsync(cancellationToken);

    /// <summary>The concurrency each of <paramref name="specs"/> is allowed now, from the reports made since <paramref name="since"/>.</summary>
    public static async Task<IReadOnlyList<ModelConcurrencySummary>> ModelConcurrencyAsync(
        this PersonaGymDbContext db, IReadOnlyCollection<string> specs, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        var distinct = specs.Distinct(StringComparer.Ordinal).ToList();
        var reports = await db.ModelConcurrencyReports.AsNoTracking()
            .Where(r => distinct.Contains(r.Model) && r.ReportedAt >= since)
            .ToListAsync(cancellationToken);
        return reports.GroupBy(r => r.Model, StringComparer.Ordinal)
            .OrderBy(g => distinct.IndexOf(g.Key))
            .Select(g => new ModelConcurrencySummary(g.Key, g.Sum(r => r.Limit), g.Sum(r => r.InFlight), g.Sum(r => r.Waiting), g.Count(), g.Max(r => r.ReportedAt)))
            .ToList();
    }

    /// <summary>
    /// One row per agent of every run (newest run first, agents in the order named), with how many personas
    /// were judged. Offline runs are included and flagged: their numbers are not an evaluation.
    /// </summary>
    public static async Task<IReadOnlyList<LeaderboardRow>> LeaderboardAsync(this PersonaGymDbContext db, CancellationToken cancellationToken = default)
    {
        var agents = await db.RunModels.AsNoTracking().Where(m => m.Role == RunModelRole.Agent)
            .Select(m => new
            {
                m.RunId,
                m.Run.Name,
                m.Run.CreatedAt,
                m.Run.Status,
                m.Run.UsesOfflineModels,
                m.Run.QuestionSetId,
                AgentId = m.Id,
                m.Spec,
                m.Ordinal,
            })
            .ToListAsync(cancellationToken);

        // The run's personas, judged or not: a persona whose questions failed has no judgement, and is still one of
        // the personas the model was to be measured on (every judged persona is one of them).
        var personasPlanned = await db.RunPersonas.AsNoTracking()
            .GroupBy(p => p.RunId)
            .Select(g => new { RunId = g.Key, Personas = g.Count() })
            .ToDictionaryAsync(x => x.RunId, x => x.Personas, cancellationToken);

        return agents
            .OrderByDescending(a => a.CreatedAt).ThenBy(a => a.RunId).ThenBy(a => a.Ordinal)
            .Select(a => new LeaderboardRow(a.RunId, a.Name, a.CreatedAt, a.Status, a.UsesOfflineModels, a.QuestionSetId,
                a.AgentId, a.Spec, personasPlanned.GetValueOrDefault(a.RunId)))
            .ToList();
    }
}
