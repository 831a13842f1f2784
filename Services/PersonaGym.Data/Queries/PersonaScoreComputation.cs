// The only place PersonaGym.Data calls PersonaGym.Core's scoring (PersonaScoring.Compute): scores are always
// derived from the stored judgements, never stored themselves.
using PersonaGym.Core.Scoring;

namespace PersonaGym.Data;

/// <summary>A persona's scores for one agent of a run.</summary>
public sealed record PersonaScoreRow(Guid AgentId, string AgentSpec, Guid PersonaId, PersonaScoreReport Report);

public static class PersonaScoreComputation
{
    public static JudgementScore ToJudgementScore(this JudgementScoreRow row) =>
        new(row.Task, row.BatchIndex, row.Judge, row.ItemIndex, row.Score);

    /// <summary>PersonaScore of one persona and agent from its judgement rows (the paper's rules live in Core).</summary>
    public static PersonaScoreReport ComputePersonaScore(IEnumerable<JudgementScoreRow> rows) =>
        PersonaScoring.Compute(rows.Select(ToJudgementScore));

    /// <summary>Every persona's scores for every agent of a run (or one agent).</summary>
    public static async Task<IReadOnlyList<PersonaScoreRow>> PersonaScoresAsync(
        this PersonaGymDbContext db, Guid runId, Guid? agentId = null, CancellationToken cancellationToken = default)
    {
        var rows = await db.JudgementScoresAsync(runId, agentId, null, cancellationToken);
        return rows
            .GroupBy(r => (r.AgentId, r.AgentSpec, r.PersonaId))
            .Select(g => new PersonaScoreRow(g.Key.AgentId, g.Key.AgentSpec, g.Key.PersonaId, ComputePersonaScore(g)))
            .ToList();
    }
}
