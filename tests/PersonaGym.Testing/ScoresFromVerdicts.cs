using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Data;

namespace PersonaGym.Testing;

/// <summary>One (agent, persona) pair's scores as recomputed from the stored judgements.</summary>
/// <param name="Tasks">Each task's score; null when no judge gave any parsed score for it.</param>
/// <param name="PersonaScore">The mean of the five task scores; null when any task has none.</param>
public sealed record RecomputedScores(
    Guid AgentId, string Agent, Guid PersonaId, string Persona, IReadOnlyDictionary<PersonaTask, double?> Tasks, double? PersonaScore);

/// <summary>
/// The scores of a run recomputed here from its Judgement rows by the paper's rules, independently of Core's scoring:
/// per judge per batch the mean of the parsed scores (parse failures excluded), per batch the mean over judges, per
/// task the mean over batches each counting for its questions (= over questions), and the PersonaScore the unweighted
/// mean of the five tasks.
/// </summary>
public static class ScoresFromVerdicts
{
    public static async Task<IReadOnlyList<RecomputedScores>> RecomputeAsync(PersonaGymDbContext db, Guid runId)
    {
        var rows = await db.Judgements.AsNoTracking().Where(j => j.RunId == runId)
            .Select(j => new
            {
                j.Answer.AgentId,
                Agent = j.Answer.Agent.Spec,
                j.Answer.Question.QuestionSetPersona.PersonaId,
                Persona = j.Answer.Question.QuestionSetPersona.Persona.Text,
                j.Answer.Question.Task,
                j.Answer.Question.BatchId,
                j.AnswerId,
                j.JudgeId,
                j.Score,
            })
            .ToListAsync();

        return rows.GroupBy(r => (r.AgentId, r.Agent, r.PersonaId, r.Persona)).Select(pair =>
        {
            var tasks = PersonaTasks.All.ToDictionary(task => task, task =>
            {
                var batchMeans = pair.Where(r => r.Task == task).GroupBy(r => r.BatchId)
                    .Select(batch => (
                        JudgeMeans: batch.GroupBy(r => r.JudgeId)
                            .Select(judge => judge.Where(r => r.Score is not null).Select(r => (double)r.Score!.Value).ToList())
                            .Where(scores => scores.Count > 0)
                            .Select(scores => scores.Average())
                            .ToList(),
                        Questions: batch.Select(r => r.AnswerId).Distinct().Count()))
                    .Where(b => b.JudgeMeans.Count > 0)
                    .Select(b => (Mean: b.JudgeMeans.Average(), b.Questions))
                    .ToList();
                return batchMeans.Count > 0 ? batchMeans.Sum(b => b.Mean * b.Questions) / batchMeans.Sum(b => b.Questions) : (double?)null;
            });
            var personaScore = tasks.Values.All(s => s is not null) ? tasks.Values.Average(s => s!.Value) : (double?)null;
            return new RecomputedScores(pair.Key.AgentId, pair.Key.Agent, pair.Key.PersonaId, pair.Key.Persona, tasks, personaScore);
        }).ToList();
    }
}
