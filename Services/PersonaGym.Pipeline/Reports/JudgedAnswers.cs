using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Reports;

/// <summary>One answer of a run with the mean of its judges' parsed scores.</summary>
public sealed record JudgedAnswer(string Persona, PersonaTask Task, string Question, double JudgeMean, int Judgements);

public static class JudgedAnswers
{
    /// <summary>
    /// Per answer of one agent, the mean of the judges' parsed scores: the per-answer figure the paper's ensemble
    /// averages (a judgement whose score could not be parsed is left out, and an answer no judge could score has no
    /// mean and is not listed).
    /// </summary>
    public static async Task<IReadOnlyList<JudgedAnswer>> ForAgentAsync(PersonaGymDbContext db, Guid runId, Guid agentId, CancellationToken cancellationToken)
    {
        var rows = await db.Judgements.AsNoTracking()
            .Where(j => j.RunId == runId && j.Answer.AgentId == agentId && j.Score != null)
            .Select(j => new
            {
                j.AnswerId,
                Persona = j.Answer.Question.QuestionSetPersona.Persona.Text,
                j.Answer.Question.Task,
                Question = j.Answer.Question.Text,
                Score = j.Score!.Value,
            })
            .ToListAsync(cancellationToken);

        return rows.GroupBy(r => r.AnswerId)
            .Select(g => new JudgedAnswer(g.First().Persona, g.First().Task, g.First().Question, g.Average(r => (double)r.Score), g.Count()))
            .OrderBy(a => a.Task).ThenBy(a => a.Persona, StringComparer.Ordinal).ThenBy(a => a.Question, StringComparer.Ordinal)
            .ToList();
    }
}
