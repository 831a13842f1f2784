using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Pipeline.Tests.Support;

/// <summary>The requests the tests submit, and what a finished run of them must hold.</summary>
public static class TestRuns
{
    public static readonly string[] Personas =
    [
        "A 61-year-old widower from rural England, tending to his garden and raising prize-winning roses",
        "A 27-year-old paramedic in Lagos who plays jazz saxophone in a band on weekends",
    ];

    public static RunRequest Request(
        int personas = 2, int agents = 2, int judges = 2, int questionsPerTask = 4, int batchSize = 5, long? maxCalls = null) => new()
    {
        Name = "pipeline test",
        Personas = Personas.Take(personas).ToList(),
        Agents = Enumerable.Range(0, agents).Select(i => $"offline:agent-{(char)('a' + i)}").ToList(),
        Judges = Enumerable.Range(0, judges).Select(i => $"offline:judge-{(char)('a' + i)}").ToList(),
        QuestionWriter = "offline:question-writer",
        ExemplarWriter = "offline:exemplar-writer",
        QuestionsPerTask = questionsPerTask,
        BatchSize = batchSize,
        MaxCalls = maxCalls,
    };

    /// <summary>The rows a finished run of <paramref name="request"/> holds: each piece of work stored exactly once.</summary>
    public static RowCounts Expected(RunRequest request)
    {
        var personas = request.Personas.Count;
        var questions = personas * PersonaTasks.All.Count * request.QuestionsPerTask;
        var answers = questions * request.Agents.Count;
        var batchesPerTask = (request.QuestionsPerTask + request.BatchSize - 1) / request.BatchSize;
        return new RowCounts(
            Questions: questions,
            Answers: answers,
            Exemplars: questions * PersonaGym.Core.Scoring.PersonaScoring.MaxScore,
            Judgements: answers * request.Judges.Count,
            BatchWork: personas * PersonaTasks.All.Count * batchesPerTask * request.Agents.Count);
    }

    /// <summary>
    /// PersonaScore per (agent, persona), recomputed here from the Judgement rows by the paper's rules, independently
    /// of Core's scoring: per judge per batch the mean of the parsed scores (parse failures excluded), per batch the
    /// mean over judges, per task the mean over batches, and the PersonaScore the unweighted mean of the five tasks.
    /// </summary>
    public static async Task<Dictionary<(Guid Agent, Guid Persona), double?>> PersonaScoresByHandAsync(PersonaGymDbContext db, Guid runId)
    {
        var rows = await db.Judgements.AsNoTracking().Where(j => j.RunId == runId)
            .Select(j => new
            {
                j.Answer.AgentId,
                j.Answer.Question.QuestionSetPersona.PersonaId,
                j.Answer.Question.Task,
                j.Answer.Question.BatchId,
                j.JudgeId,
                j.Score,
            })
            .ToListAsync();

        return rows.GroupBy(r => (r.AgentId, r.PersonaId)).ToDictionary(
            persona => (persona.Key.AgentId, persona.Key.PersonaId),
            persona =>
            {
                var taskScores = PersonaTasks.All.Select(task =>
                {
                    var batchMeans = persona.Where(r => r.Task == task).GroupBy(r => r.BatchId)
                        .Select(batch => batch.GroupBy(r => r.JudgeId)
                            .Select(judge => judge.Where(r => r.Score is not null).Select(r => (double)r.Score!.Value).ToList())
                            .Where(scores => scores.Count > 0)
                            .Select(scores => scores.Average())
                            .ToList())
                        .Where(judgeMeans => judgeMeans.Count > 0)
                        .Select(judgeMeans => judgeMeans.Average())
                        .ToList();
                    return batchMeans.Count > 0 ? batchMeans.Average() : (double?)null;
                }).ToList();
                return taskScores.All(s => s is not null) ? taskScores.Average(s => s!.Value) : (double?)null;
            });
    }

    /// <summary>Asserts that every PersonaScore the Data layer reports equals the recomputation from the judgements.</summary>
    public static async Task AssertScoresMatchJudgementsAsync(TestPipeline pipeline, Guid runId, int expectedScores)
    {
        await using var db = pipeline.NewContext();
        var reported = await db.PersonaScoresAsync(runId);
        var byHand = await PersonaScoresByHandAsync(db, runId);

        Assert.Equal(expectedScores, reported.Count);
        Assert.Equal(expectedScores, byHand.Count);
        foreach (var row in reported)
        {
            Assert.NotNull(row.Report.PersonaScore);
            var expected = byHand[(row.AgentId, row.PersonaId)];
            Assert.NotNull(expected);
            Assert.Equal(expected.Value, row.Report.PersonaScore.Value, precision: 9);
        }
    }
}
