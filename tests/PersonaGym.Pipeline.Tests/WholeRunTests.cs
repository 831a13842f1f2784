using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>A whole run in one process on the in-memory transport with the offline models, as the CLI's local mode runs it.</summary>
[Collection(PostgresServer.Collection)]
public sealed class WholeRunTests(PostgresServer postgres)
{
    [Theory]
    [InlineData(5)] // one batch per task, as in the paper
    [InlineData(2)] // two batches per task
    public async Task A_run_completes_with_every_piece_of_work_stored_once(int batchSize)
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync());
        var request = TestRuns.Request(batchSize: batchSize);

        var runId = await pipeline.SubmitAsync(request);

        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(runId));
        Assert.Equal(TestRuns.Expected(request), await pipeline.CountRowsAsync(runId));
        await using var db = pipeline.NewContext();
        var summary = await db.RunSummaryAsync(runId);
        Assert.NotNull(summary);
        Assert.Equal(2, summary.Personas.Completed);
        Assert.Equal(TestRuns.Expected(request).BatchWork, summary.Batches.Done);
        Assert.Equal(0, summary.ParseFailures);
        Assert.True(await db.BatchWork.AllAsync(w => w.RunId != runId || w.Stage == BatchStage.Done));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(2)]
    public async Task Every_PersonaScore_equals_the_paper_rules_applied_to_the_stored_judgements(int batchSize)
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync());
        var request = TestRuns.Request(batchSize: batchSize);

        var runId = await pipeline.SubmitAsync(request);
        await pipeline.WaitForRunAsync(runId);

        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, runId, expectedScores: request.Agents.Count * request.Personas.Count);
    }

    [Fact]
    public async Task A_run_makes_the_paper_s_number_of_calls_per_stage()
    {
        // Three agents judged concurrently: each batch's exemplars are still written (and paid for) once.
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync());
        var request = TestRuns.Request(personas: 2, agents: 3, judges: 2, questionsPerTask: 4, batchSize: 2);

        var runId = await pipeline.SubmitAsync(request);
        await pipeline.WaitForRunAsync(runId);

        var calls = await pipeline.CallsByStageAsync(runId);
        const int personas = 2, tasks = 5, batches = personas * tasks * 2;
        Assert.Equal(personas, calls[LlmCallStage.EnvironmentSelection]);
        Assert.Equal(personas * tasks, calls[LlmCallStage.QuestionGeneration]);
        Assert.Equal(personas * tasks * 4 * 3, calls[LlmCallStage.Answering]);
        Assert.Equal(batches, calls[LlmCallStage.Exemplars]);
        Assert.Equal(batches * 3 * 2, calls[LlmCallStage.Judging]);
        // Every recorded call reached the model, except those the response cache answered: two agents of the offline
        // model can give the same answers to a batch, and then its judging requests are the same request.
        Assert.Equal(await pipeline.PaidCallsAsync(runId), pipeline.Models.Total);
    }
}
