using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Reports;
using PersonaGym.Data;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;
using Xunit.Abstractions;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// Whole runs against judges that write the way real models do: every stored score is the one the judge meant, gaps
/// are asked for again, and what is finally missing shows in every report.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class VerdictReadingRunTests(PostgresServer postgres, ITestOutputHelper output)
{
    private static readonly string[] ManyPersonas =
    [
        .. TestRuns.Personas,
        "A 45-year-old ferry captain from Bergen who collects jazz records",
        "A 33-year-old pastry chef in Lyon training for her first marathon",
        "A 70-year-old retired schoolteacher from Osaka who writes haiku every morning",
        "A 19-year-old computer science student in Toronto who streams speedruns",
    ];

    [Fact]
    public async Task Every_stored_score_is_the_one_the_judge_meant_whatever_its_layout_and_gaps_are_asked_for_again()
    {
        var judgeA = new ScriptedJudge("judge-a", omitShare: 0.05);
        var judgeB = new ScriptedJudge("judge-b", omitShare: 0.05);
        var models = new ModelCalls().With("judge-a", () => judgeA).With("judge-b", () => judgeB);
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { Models = models });
        var request = TestRuns.Request(personas: 2, agents: 1, judges: 2, questionsPerTask: 10) with { Personas = ManyPersonas };

        var runId = await pipeline.SubmitAsync(request);
        await pipeline.WaitForRunAsync(runId);

        await using var db = pipeline.NewContext();
        var judgements = await db.Judgements.AsNoTracking().Where(j => j.RunId == runId)
            .Select(j => new { Judge = j.Judge.Spec, Answer = j.Answer.Text, j.Score, j.ParseFailure }).ToListAsync();
        Assert.Equal(ManyPersonas.Length * 5 * 10 * 2, judgements.Count);
        foreach (var j in judgements.Where(j => j.Score is not null))
        {
            var meant = (j.Judge == "offline:judge-a" ? judgeA : judgeB).Meant[j.Answer];
            Assert.True(meant == j.Score, $"{j.Judge} meant {meant} but {j.Score} was stored");
        }

        var failures = judgements.Count(j => j.Score is null);
        output.WriteLine($"{judgeA.Omitted + judgeB.Omitted} verdicts left out, {judgeA.FollowUps + judgeB.FollowUps} follow-ups, {failures} of {judgements.Count} finally without a score");
        Assert.True(judgeA.Omitted + judgeB.Omitted > 0, "the judges left nothing out: the test shows nothing");
        Assert.True(failures <= judgements.Count * 0.005, $"{failures} parse failures of {judgements.Count}");

        // Each follow-up is a paid call, counted in usage like any other.
        var judgeCalls = await db.LlmCalls.CountAsync(c => c.RunId == runId && c.Stage == LlmCallStage.Judging);
        Assert.Equal(ManyPersonas.Length * 5 * 2 * 2 + judgeA.FollowUps + judgeB.FollowUps, judgeCalls);
        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, runId, expectedScores: ManyPersonas.Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(20)]
    public async Task Every_batch_size_completes_a_run(int batchSize)
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync());
        var request = TestRuns.Request(personas: 1, agents: 1, judges: 2, questionsPerTask: 20, batchSize: batchSize);

        var runId = await pipeline.SubmitAsync(request);

        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(runId));
        Assert.Equal(TestRuns.Expected(request), await pipeline.CountRowsAsync(runId));
        await using var db = pipeline.NewContext();
        Assert.Equal(0, await db.Judgements.CountAsync(j => j.RunId == runId && j.Score == null));
        var report = (await RunReportBuilder.BuildAsync(db, runId))!;
        Assert.True(report.Models[0].Personas[0].Scores.Complete);
    }

    [Fact]
    public async Task A_judge_failing_a_batch_and_a_failed_persona_show_in_every_report()
    {
        var failingPersona = TestRuns.Personas[1];
        var models = new ModelCalls()
            .With("judge-b", () => new ProseOnTaskJudge(PersonaTask.LinguisticHabits))
            .With("question-writer", () => new FailingForPersonaWriter(failingPersona));
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { Models = models });
        var request = TestRuns.Request(personas: 2, agents: 1, judges: 2, questionsPerTask: 5);

        var runId = await pipeline.SubmitAsync(request);
        Assert.Equal(RunStatus.CompletedWithFailures, await pipeline.WaitForRunAsync(runId));

        await using var db = pipeline.NewContext();
        var report = (await RunReportBuilder.BuildAsync(db, runId))!;
        var model = Assert.Single(report.Models);
        var gardener = model.Personas.Single(p => p.Persona == TestRuns.Personas[0]);
        var failed = model.Personas.Single(p => p.Persona == failingPersona);

        // The judge that failed Linguistic Habits leaves that task resting on one judge: flagged, not hidden.
        Assert.NotNull(gardener.Scores.PersonaScore);
        Assert.False(gardener.Scores.Complete);
        Assert.Equal(1, gardener.Scores[PersonaTask.LinguisticHabits].MissingJudgements);
        Assert.Contains(gardener.Scores.Notes, n => n.Contains("Linguistic Habits batch 1 rests on 1 of 2 judges"));
        Assert.Equal("Failed", failed.Status);
        Assert.False(failed.Scores.Complete);
        Assert.NotNull(failed.Scores.Failure);
        // Neither persona is complete, so the model-level means have nothing to average, and say so.
        Assert.Equal((2, 0, 2), (model.Overall.Personas, model.Overall.CompletePersonas, model.Overall.PersonasLeftOut));
        Assert.Null(model.Overall.PersonaScore);
        Assert.Contains(report.Warnings, w => w.Contains("2 of 2 personas are incomplete"));

        var json = RunReportWriter.ToJson(report);
        Assert.Contains("\"personasLeftOut\": 2", json);
        Assert.Contains("\"missingJudgements\": 1", json);
        Assert.Contains("\"complete\": false", json);
        var read = RunReportReader.FromJson(json);
        Assert.Equal(1, read.Models[0].Personas.Single(p => p.Persona == gardener.Persona).Scores.MissingJudgements);
        Assert.NotNull(read.Models[0].Personas.Single(p => p.Persona == failingPersona).Scores.Failure);

        var csv = RunReportWriter.ToCsv(report).Split("\r\n");
        Assert.EndsWith(",complete,missingBatches,missingJudgements", csv[0]);
        Assert.Contains(csv, row => row.Contains("widower") && row.EndsWith(",false,0,1"));

        var markdown = RunReportWriter.ToMarkdown(report);
        Assert.Contains("persona failed", markdown);
        Assert.Contains("1 judge verdict set", markdown);
        Assert.Contains("2 incomplete (⚠: a batch or a judge missing) left out", markdown);

        var included = (await RunReportBuilder.BuildAsync(db, runId, includeIncomplete: true))!;
        Assert.Equal(gardener.Scores.PersonaScore, included.Models[0].Overall.PersonaScore);
        output.WriteLine(markdown);
    }

    /// <summary>A judge whose verdicts on one task never carry a score; on the others it is the offline judge.</summary>
    private sealed class ProseOnTaskJudge(PersonaTask task) : DelegatingChatClientBase(new Core.Offline.OfflineChatClient("judge-b"))
    {
        protected override string? Override(string request) =>
            request.Contains($"Task: {task.DisplayName()}", StringComparison.Ordinal) ? ProseChatClient.Text : null;
    }

    /// <summary>A question writer that answers every request about one persona with a refusal.</summary>
    private sealed class FailingForPersonaWriter(string persona) : DelegatingChatClientBase(new Core.Offline.OfflineChatClient("question-writer"))
    {
        protected override string? Override(string request) =>
            request.Contains(persona, StringComparison.Ordinal) && request.Contains("QUESTIONS TO WRITE", StringComparison.Ordinal)
                ? "I'm sorry, I can't write questions for this persona." : null;
    }
}
