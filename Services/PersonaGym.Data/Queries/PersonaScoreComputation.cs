// The only place PersonaGym.Data calls PersonaGym.Core's scoring (PersonaScoring.Compute): scores are always
// derived from the stored judgements, never stored themselves.
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Scoring;

namespace PersonaGym.Data;

/// <summary>A persona's scores for one agent of a run.</summary>
public sealed record PersonaScoreRow(Guid AgentId, string AgentSpec, Guid PersonaId, PersonaScoreReport Report);

/// <summary>
/// The batches a run planned for each agent and persona (its <see cref="BatchWork"/> rows), with the ones that
/// finally failed: what a persona's scores should rest on, so that scoring counts what is missing.
/// </summary>
public sealed class ScoringPlan(
    IReadOnlyList<ScoringPlan.PlannedBatch> batches, IReadOnlyList<string> judges, IReadOnlyDictionary<Guid, string> failedPersonas)
{
    public sealed record PlannedBatch(Guid AgentId, Guid PersonaId, PersonaTask Task, int BatchIndex, BatchStage Stage, string? Error);

    private readonly ILookup<(Guid AgentId, Guid PersonaId), PlannedBatch> _byPersona = batches.ToLookup(b => (b.AgentId, b.PersonaId));

    /// <summary>The run's judges, in their order.</summary>
    public IReadOnlyList<string> Judges { get; } = judges;

    /// <summary>The expectation of one agent's scores for one persona: every judge of the run on every planned batch.</summary>
    public ScoringExpectation For(Guid agentId, Guid personaId)
    {
        var planned = _byPersona[(agentId, personaId)].ToList();
        return new ScoringExpectation(
            Judges,
            PersonaTasks.All.ToDictionary(t => t, t => (IReadOnlyList<int>)planned.Where(b => b.Task == t).Select(b => b.BatchIndex).Order().ToList()))
        {
            FailedBatches = planned.Where(b => b.Stage == BatchStage.Failed)
                .ToDictionary(b => (b.Task, b.BatchIndex), b => b.Error ?? "failed"),
            PersonaFailure = failedPersonas.GetValueOrDefault(personaId),
        };
    }
}

public static class PersonaScoreComputation
{
    public static JudgementScore ToJudgementScore(this JudgementScoreRow row) =>
        new(row.Task, row.BatchIndex, row.Judge, row.ItemIndex, row.Score);

    /// <summary>PersonaScore of one persona and agent from its judgement rows (the paper's rules live in Core).</summary>
    public static PersonaScoreReport ComputePersonaScore(IEnumerable<JudgementScoreRow> rows, ScoringExpectation? expected = null) =>
        PersonaScoring.Compute(rows.Select(ToJudgementScore), expected);

    /// <summary>A run's judges, every agent's planned batches and its failed personas, for <see cref="ScoringPlan.For"/>.</summary>
    public static async Task<ScoringPlan> ScoringPlanAsync(this PersonaGymDbContext db, Guid runId, CancellationToken cancellationToken = default)
    {
        var rows = await db.BatchWork.AsNoTracking().Where(w => w.RunId == runId)
            .Select(w => new ScoringPlan.PlannedBatch(w.AgentId, w.RunPersona.PersonaId, w.Batch.Task, w.Batch.BatchIndex, w.Stage, w.Error))
            .ToListAsync(cancellationToken);
        var judges = await db.RunModels.AsNoTracking().Where(m => m.RunId == runId && m.Role == RunModelRole.Judge)
            .OrderBy(m => m.Ordinal).Select(m => m.Spec).ToListAsync(cancellationToken);
        var failed = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == runId && p.Status == RunPersonaStatus.Failed)
            .Select(p => new { p.PersonaId, p.Error }).ToListAsync(cancellationToken);
        return new ScoringPlan(rows, judges, failed.ToDictionary(p => p.PersonaId, p => p.Error ?? "its questions could not be written"));
    }

    /// <summary>Every persona's scores for every agent of a run (or one agent), measured against the run's plan.</summary>
    public static async Task<IReadOnlyList<PersonaScoreRow>> PersonaScoresAsync(
        this PersonaGymDbContext db, Guid runId, Guid? agentId = null, CancellationToken cancellationToken = default)
    {
        var plan = await db.ScoringPlanAsync(runId, cancellationToken);
        var rows = await db.JudgementScoresAsync(runId, agentId, null, cancellationToken);
        return rows
            .GroupBy(r => (r.AgentId, r.AgentSpec, r.PersonaId))
            .Select(g => new PersonaScoreRow(g.Key.AgentId, g.Key.AgentSpec, g.Key.PersonaId,
                ComputePersonaScore(g, plan.For(g.Key.AgentId, g.Key.PersonaId))))
            .ToList();
    }
}
