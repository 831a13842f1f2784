using Microsoft.EntityFrameworkCore;
using PersonaGym.Core.Planning;
using PersonaGym.Core.Reports;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

// The shapes the Api serves and the CLI's --server mode reads (JSON with PersonaGymJson.Options): one definition, both sides.

/// <summary>A run as <c>GET /api/runs</c> lists it.</summary>
public sealed record RunListItem(
    Guid Id,
    string Name,
    RunStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt,
    bool UsesOfflineModels,
    IReadOnlyList<string> Agents,
    int Personas)
{
    /// <summary><see cref="ReportText.OfflineDisclaimer"/> when the run used an offline model, else null.</summary>
    public string? Disclaimer => UsesOfflineModels ? ReportText.OfflineDisclaimer : null;

    /// <summary>LLM calls made so far (cache hits included).</summary>
    public long Calls { get; init; }

    /// <summary>What the run's paid tokens cost so far, by the operator's price list; null when listed without one.</summary>
    public MoneyCost? Cost { get; init; }
}

/// <summary>What <c>POST /api/runs</c> answers (202 Accepted): the stored run and what it will cost.</summary>
/// <param name="ExpectedBatches">Batches × models under test: the units of work progress counts.</param>
/// <param name="Estimate">The cost estimate, one line per stage and model (cache hits will cost nothing).</param>
public sealed record RunAccepted(
    Guid Id,
    string Name,
    int Personas,
    bool UsesOfflineModels,
    string? Disclaimer,
    int ExpectedBatches = 0,
    IReadOnlyList<CostLine>? Estimate = null,
    IReadOnlyList<string>? Warnings = null);

/// <summary>What <c>GET /api/runs/{id}</c> answers: progress and usage, and every problem (failed or stalled items with reasons).</summary>
public sealed record RunDetails(RunSummary Summary, IReadOnlyList<string> Problems)
{
    public string? Disclaimer => Summary.UsesOfflineModels ? ReportText.OfflineDisclaimer : null;
}

/// <summary>The body of <c>POST /api/runs/{id}/resume</c>: new budgets, or none to keep the old ones.</summary>
public sealed record RunResumeRequest(long? MaxCalls, long? MaxTokens);

/// <summary>What <c>POST /api/runs/{id}/resume</c> answers.</summary>
/// <param name="Republished">Unfinished items published again.</param>
public sealed record RunResumed(Guid Id, int Republished, string? Disclaimer);

/// <summary>A stored question set as <c>GET /api/question-sets</c> lists it.</summary>
public sealed record QuestionSetListItem(Guid Id, string Name, string Version, QuestionSetSource Source, bool Frozen, DateTimeOffset CreatedAt, int Personas);

/// <summary>Listing queries the Api and the CLI share.</summary>
public static class RunListing
{
    /// <summary>Every run, newest first, with its calls and (given a price list) its cost so far.</summary>
    public static async Task<IReadOnlyList<RunListItem>> RunsAsync(PersonaGymDbContext db, ModelPricing? pricing = null, CancellationToken cancellationToken = default)
    {
        var runs = await RunsWithoutUsageAsync(db, cancellationToken);
        var usage = await RunUsage.ByRunAndModelAsync(db, cancellationToken);
        return runs.Select(r => r with
        {
            Calls = usage[r.Id].Sum(u => u.Calls),
            Cost = pricing is null ? null : RunUsage.Cost(usage[r.Id], pricing),
        }).ToList();
    }

    /// <summary>Every run, newest first, without its calls or cost (no pass over the calls): for lists that show neither.</summary>
    public static async Task<IReadOnlyList<RunListItem>> RunsWithoutUsageAsync(PersonaGymDbContext db, CancellationToken cancellationToken = default)
    {
        var runs = await db.Runs.AsNoTracking()
            .Select(r => new
            {
                r.Id, r.Name, r.Status, r.CreatedAt, r.CompletedAt, r.UsesOfflineModels,
                Agents = r.Models.Where(m => m.Role == RunModelRole.Agent).OrderBy(m => m.Ordinal).Select(m => m.Spec).ToList(),
                Personas = r.Personas.Count,
            })
            .ToListAsync(cancellationToken);
        // Ordered in memory: SQLite cannot order by a DateTimeOffset column.
        return runs.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id)
            .Select(r => new RunListItem(r.Id, r.Name, r.Status, r.CreatedAt, r.CompletedAt, r.UsesOfflineModels, r.Agents, r.Personas))
            .ToList();
    }

    /// <summary>Every stored question set (imported benchmarks and sets generated for runs), newest first.</summary>
    public static async Task<IReadOnlyList<QuestionSetListItem>> QuestionSetsAsync(PersonaGymDbContext db, CancellationToken cancellationToken = default)
    {
        var sets = await db.QuestionSets.AsNoTracking()
            .Select(s => new QuestionSetListItem(s.Id, s.Name, s.Version, s.Source, s.Frozen, s.CreatedAt,
                s.Personas.Count))
            .ToListAsync(cancellationToken);
        return sets.OrderByDescending(s => s.CreatedAt).ThenBy(s => s.Name, StringComparer.Ordinal).ToList();
    }
}

/// <summary>What <c>POST /api/runs/{id}/cancel</c> answers.</summary>
public sealed record RunCancelled(Guid Id, RunStatus Status);

/// <summary>What <c>POST /api/runs/estimate</c> answers: the work and cost a valid request would make, before anything is stored.</summary>
public sealed record RunEstimate(
    int Personas,
    int ExpectedBatches,
    bool UsesOfflineModels,
    long Calls,
    long InputTokens,
    long OutputTokens,
    IReadOnlyList<CostLine> Lines,
    IReadOnlyList<string> Assumptions)
{
    /// <summary>What the estimated tokens would cost by the operator's price list (<c>PersonaGym:Pricing</c>).</summary>
    public MoneyCost? Cost { get; init; }
}
