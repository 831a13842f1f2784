using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

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

    /// <summary>PersonaScore per (agent, persona), recomputed from the Judgement rows by the paper's rules (<see cref="ScoresFromVerdicts"/>).</summary>
    public static async Task<Dictionary<(Guid Agent, Guid Persona), double?>> PersonaScoresByHandAsync(PersonaGymDbContext db, Guid runId) =>
        (await ScoresFromVerdicts.RecomputeAsync(db, runId)).ToDictionary(s => (s.AgentId, s.PersonaId), s => s.PersonaScore);

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
