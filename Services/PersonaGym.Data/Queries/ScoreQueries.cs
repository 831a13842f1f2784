using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;

namespace PersonaGym.Data;

/// <summary>
/// One judge's score for one answer, with what scoring groups by. The last five members are exactly
/// <c>PersonaGym.Core.Scoring.JudgementScore</c>'s (see <c>PersonaScoreComputation</c>).
/// </summary>
/// <param name="Judge">The judge's model spec.</param>
/// <param name="ItemIndex">The answer's position in the batch the judge graded.</param>
/// <param name="Score">1–5, or null for a parse failure (excluded from means).</param>
public sealed record JudgementScoreRow(
    Guid AgentId,
    string AgentSpec,
    Guid PersonaId,
    PersonaTask Task,
    int BatchIndex,
    string Judge,
    int ItemIndex,
    int? Score);

/// <summary>One graded item for judge-validity statistics (agreement between judges on the same answers).</summary>
/// <param name="ItemKey">The answer's id: judges agree or disagree about the same key.</param>
public sealed record JudgedItem(string ItemKey, string Judge, PersonaTask Task, int? Score);

/// <summary>
/// The evidence scores are computed from. Scores are derived from stored judgements, never stored totals,
/// so a report can never drift from what the judges said.
/// </summary>
public static class ScoreQueries
{
    /// <summary>Every judgement of a run as a score row, optionally for one agent and/or one persona; ordered for reading.</summary>
    public static async Task<IReadOnlyList<JudgementScoreRow>> JudgementScoresAsync(
        this PersonaGymDbContext db,
        Guid runId,
        Guid? agentId = null,
        Guid? personaId = null,
        CancellationToken cancellationToken = default)
    {
        var judgements = db.Judgements.AsNoTracking().Where(j => j.RunId == runId);
        if (agentId is { } agent) judgements = judgements.Where(j => j.Answer.AgentId == agent);
        if (personaId is { } persona) judgements = judgements.Where(j => j.Answer.Question.QuestionSetPersona.PersonaId == persona);
        return await ScoreRowsAsync(judgements, cancellationToken);
    }

    /// <summary>Every judgement of a run for some of its personas (a page of them) as a score row; ordered for reading.</summary>
    public static Task<IReadOnlyList<JudgementScoreRow>> JudgementScoresAsync(
        this PersonaGymDbContext db,
        Guid runId,
        IReadOnlyCollection<Guid> personaIds,
        CancellationToken cancellationToken = default) =>
        ScoreRowsAsync(db.Judgements.AsNoTracking()
            .Where(j => j.RunId == runId && personaIds.Contains(j.Answer.Question.QuestionSetPersona.PersonaId)), cancellationToken);

    private static async Task<IReadOnlyList<JudgementScoreRow>> ScoreRowsAsync(IQueryable<Judgement> judgements, CancellationToken cancellationToken)
    {
        var rows = await judgements
            .Select(j => new
            {
                j.Answer.AgentId,
                AgentSpec = j.Answer.Agent.Spec,
                AgentOrdinal = j.Answer.Agent.Ordinal,
                j.Answer.Question.QuestionSetPersona.PersonaId,
                j.Answer.Question.Task,
                j.Answer.Question.Batch.BatchIndex,
                Judge = j.Judge.Spec,
                JudgeOrdinal = j.Judge.Ordinal,
                j.ItemIndex,
                j.Score,
            })
            .ToListAsync(cancellationToken);

        // Ordered in memory: enums are stored by name, so SQL would order tasks alphabetically, not as the paper lists them.
        return rows
            .OrderBy(r => r.AgentOrdinal).ThenBy(r => r.PersonaId).ThenBy(r => r.Task).ThenBy(r => r.BatchIndex)
            .ThenBy(r => r.JudgeOrdinal).ThenBy(r => r.ItemIndex)
            .Select(r => new JudgementScoreRow(r.AgentId, r.AgentSpec, r.PersonaId, r.Task, r.BatchIndex, r.Judge, r.ItemIndex, r.Score))
            .ToList();
    }

    /// <summary>Every judgement of a run as a judge-validity item keyed by the answer, optionally for one agent.</summary>
    public static async Task<IReadOnlyList<JudgedItem>> JudgeItemsAsync(
        this PersonaGymDbContext db,
        Guid runId,
        Guid? agentId = null,
        CancellationToken cancellationToken = default)
    {
        var judgements = db.Judgements.AsNoTracking().Where(j => j.RunId == runId);
        if (agentId is { } agent) judgements = judgements.Where(j => j.Answer.AgentId == agent);
        var rows = await judgements
            .Select(j => new { j.AnswerId, Judge = j.Judge.Spec, j.Answer.Question.Task, j.Score })
            .ToListAsync(cancellationToken);
        return rows
            .OrderBy(r => r.AnswerId).ThenBy(r => r.Judge, StringComparer.Ordinal)
            .Select(r => new JudgedItem(r.AnswerId.ToString(), r.Judge, r.Task, r.Score))
            .ToList();
    }
}
