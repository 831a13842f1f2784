using Microsoft.EntityFrameworkCore;
using PersonaGym.Core.Planning;
using PersonaGym.Core.Reports;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

/// <summary>A run as the web app's run list shows it: who took part, how far it got and what it used so far.</summary>
/// <param name="QuestionSet">"name@version" of the questions every model answered.</param>
/// <param name="BatchesPlanned">Batches × models under test for the personas whose questions are ready.</param>
/// <param name="BatchesJudged">Of those, batches every judge has graded.</param>
/// <param name="Calls">LLM calls made (cache hits included).</param>
public sealed record RunOverviewItem(
    Guid Id,
    string Name,
    RunStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt,
    bool UsesOfflineModels,
    IReadOnlyList<string> Agents,
    IReadOnlyList<string> Judges,
    int Personas,
    string QuestionSet,
    int BatchesPlanned,
    int BatchesJudged,
    int BatchesFailed,
    long Calls,
    long CacheHits,
    long InputTokens,
    long OutputTokens)
{
    public string? Disclaimer => UsesOfflineModels ? ReportText.OfflineDisclaimer : null;

    /// <summary>What the run's paid tokens cost so far, by the operator's price list; null when listed without one.</summary>
    public MoneyCost? Cost { get; init; }

    /// <summary>Share of the planned batches judged, 0–1; null while no batch is planned.</summary>
    public double? Progress => BatchesPlanned == 0 ? null : Math.Min(1.0, (double)BatchesJudged / BatchesPlanned);
}

public static class RunOverview
{
    /// <summary>Every run, newest first, in a fixed number of queries whatever the number of runs.</summary>
    public static async Task<IReadOnlyList<RunOverviewItem>> RunsAsync(PersonaGymDbContext db, ModelPricing? pricing = null, CancellationToken cancellationToken = default)
    {
        var runs = await db.Runs.AsNoTracking()
            .Select(r => new
            {
                r.Id, r.Name, r.Status, r.CreatedAt, r.CompletedAt, r.UsesOfflineModels,
                Models = r.Models.Select(m => new { m.Role, m.Spec, m.Ordinal }).ToList(),
                Personas = r.Personas.Count,
                SetName = r.QuestionSet.Name,
                SetVersion = r.QuestionSet.Version,
            })
            .ToListAsync(cancellationToken);

        var readyBatches = await db.RunPersonas.AsNoTracking()
            .Where(p => p.QuestionSetPersona != null && p.QuestionSetPersona.Status == QuestionSetPersonaStatus.Ready)
            .Select(p => new { p.RunId, Batches = p.QuestionSetPersona!.Batches.Count })
            .GroupBy(p => p.RunId)
            .Select(g => new { RunId = g.Key, Batches = g.Sum(p => p.Batches) })
            .ToDictionaryAsync(g => g.RunId, g => g.Batches, cancellationToken);

        var work = await db.BatchWork.AsNoTracking()
            .GroupBy(w => new { w.RunId, w.Stage })
            .Select(g => new { g.Key.RunId, g.Key.Stage, Count = g.Count() })
            .ToListAsync(cancellationToken);

        var usage = await RunUsage.ByRunAndModelAsync(db, cancellationToken);

        // Ordered in memory: SQLite cannot order by a DateTimeOffset column.
        return runs.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id).Select(r =>
        {
            var agents = r.Models.Where(m => m.Role == RunModelRole.Agent).OrderBy(m => m.Ordinal).Select(m => m.Spec).ToList();
            var judges = r.Models.Where(m => m.Role == RunModelRole.Judge).OrderBy(m => m.Ordinal).Select(m => m.Spec).ToList();
            int At(BatchStage stage) => work.Where(w => w.RunId == r.Id && w.Stage == stage).Sum(w => w.Count);
            var used = usage[r.Id].ToList();
            return new RunOverviewItem(r.Id, r.Name, r.Status, r.CreatedAt, r.CompletedAt, r.UsesOfflineModels, agents, judges, r.Personas,
                $"{r.SetName}@{r.SetVersion}", readyBatches.GetValueOrDefault(r.Id) * agents.Count, At(BatchStage.Done), At(BatchStage.Failed),
                used.Sum(u => u.Calls), used.Sum(u => u.CacheHits), used.Sum(u => u.Input), used.Sum(u => u.Output))
            {
                Cost = pricing is null ? null : RunUsage.Cost(used, pricing),
            };
        }).ToList();
    }
}

/// <summary>What each run used, per model: one grouped query over every run's calls, for the lists of runs.</summary>
public static class RunUsage
{
    /// <summary>One run's use of one model: its calls (cache hits included), tokens, and the paid tokens (cache hits cost nothing).</summary>
    public sealed record ModelUsage(string Model, long Calls, long CacheHits, long Input, long Output, long PaidInput, long PaidOutput);

    /// <summary>Every run's usage, per model, by run id.</summary>
    public static async Task<ILookup<Guid, ModelUsage>> ByRunAndModelAsync(PersonaGymDbContext db, CancellationToken cancellationToken) =>
        (await db.LlmCalls.AsNoTracking().Where(c => c.RunId != null)
            .GroupBy(c => new { c.RunId, c.Model })
            .Select(g => new
            {
                RunId = g.Key.RunId!.Value,
                Usage = new ModelUsage(
                    g.Key.Model,
                    g.LongCount(),
                    g.LongCount(c => c.CacheHit),
                    g.Sum(c => (long)(c.InputTokens ?? 0)),
                    g.Sum(c => (long)(c.OutputTokens ?? 0)),
                    g.Sum(c => c.CacheHit ? 0 : (long)(c.InputTokens ?? 0)),
                    g.Sum(c => c.CacheHit ? 0 : (long)(c.OutputTokens ?? 0))),
            })
            .ToListAsync(cancellationToken))
        .ToLookup(u => u.RunId, u => u.Usage);

    /// <summary>What a run's paid tokens cost by <paramref name="pricing"/>, its models in name order.</summary>
    public static MoneyCost Cost(IEnumerable<ModelUsage> used, ModelPricing pricing) =>
        pricing.Price(used.OrderBy(u => u.Model, StringComparer.Ordinal).Select(u => ("all", u.Model, u.PaidInput, u.PaidOutput)));
}
