using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Core.Planning;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
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

    [Fact]
    public async Task A_follower_in_the_process_is_told_once_the_run_has_finished_or_stopped_at_its_budget()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync());
        var signal = pipeline.Services.GetRequiredService<RunFinishedSignal>();

        // As the CLI waits: after the run is stored, before its first message.
        async Task<(Guid RunId, Task Finished)> StartAsync(RunRequest request)
        {
            var runId = await pipeline.Submitter.CreateAsync(await pipeline.Submitter.PlanAsync(request));
            var finished = signal.WhenFinished(runId);
            await pipeline.Submitter.StartAsync(runId, pipeline.Bus);
            return (runId, finished);
        }

        // The notice comes once the new status is committed: what the follower reads then is final. The budget's run goes
        // first, as the other's answers would be cache hits for it, which cost nothing and reach no budget.
        var stopped = await StartAsync(TestRuns.Request(maxCalls: 8));
        await stopped.Finished.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(RunStatus.Stopped, await pipeline.StatusAsync(stopped.RunId));

        var completed = await StartAsync(TestRuns.Request());
        await completed.Finished.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(RunStatus.Completed, await pipeline.StatusAsync(completed.RunId));
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

    [Fact]
    public async Task A_run_costs_its_paid_tokens_at_the_listed_prices_and_a_repeat_answered_from_the_cache_costs_nothing()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup
        {
            Settings = new Dictionary<string, string?>
            {
                ["PersonaGym:Pricing:Currency"] = "EUR",
                ["PersonaGym:Pricing:Models:0:Model"] = "offline:agent-a",
                ["PersonaGym:Pricing:Models:0:InputPerMillionTokens"] = "3",
                ["PersonaGym:Pricing:Models:0:OutputPerMillionTokens"] = "15",
                ["PersonaGym:Pricing:Models:1:Model"] = "offline:judge-a",
                ["PersonaGym:Pricing:Models:1:InputPerMillionTokens"] = "0.5",
                ["PersonaGym:Pricing:Models:1:OutputPerMillionTokens"] = "1.5",
            },
        });
        var pricing = pipeline.Services.GetRequiredService<ModelPricing>();
        var request = TestRuns.Request(personas: 1, agents: 1, judges: 1, questionsPerTask: 2);
        var first = await pipeline.SubmitAsync(request);
        await pipeline.WaitForRunAsync(first);

        await using var db = pipeline.NewContext();
        var paid = await db.LlmCalls.Where(c => c.RunId == first && !c.CacheHit).GroupBy(c => c.Model)
            .Select(g => new { Model = g.Key, Input = g.Sum(c => (long)(c.InputTokens ?? 0)), Output = g.Sum(c => (long)(c.OutputTokens ?? 0)) })
            .ToDictionaryAsync(g => g.Model);
        var expected = (paid["offline:agent-a"].Input * 3m + paid["offline:agent-a"].Output * 15m
                        + paid["offline:judge-a"].Input * 0.5m + paid["offline:judge-a"].Output * 1.5m) / 1_000_000m;
        var cost = (await db.RunSummaryAsync(first, pricing))!.Cost!;
        Assert.True(expected > 0);
        Assert.Equal(expected, cost.Amount);
        Assert.Equal("EUR", cost.Currency);
        // The question and exemplar writers are offline and unlisted: free, so the cost is complete.
        Assert.True(cost.Complete);
        Assert.Contains(cost.Lines, l => l.Stage == PersonaGym.Core.MethodStages.Answer && l.Model == "offline:agent-a" && l.Amount > 0);
        Assert.Equal(expected, (await RunOverview.RunsAsync(db, pricing)).Single(r => r.Id == first).Cost!.Amount);
        var listed = (await RunListing.RunsAsync(db, pricing)).Single(r => r.Id == first);
        Assert.Equal(expected, listed.Cost!.Amount);
        Assert.Equal(await db.LlmCalls.CountAsync(c => c.RunId == first), listed.Calls);
        Assert.Null((await RunListing.RunsAsync(db)).Single(r => r.Id == first).Cost);

        // The same request again makes the same calls, and the response cache answers every one of them.
        var second = await pipeline.SubmitAsync(request with { Name = "the same again" });
        await pipeline.WaitForRunAsync(second);
        var again = (await db.RunSummaryAsync(second, pricing))!;
        Assert.Equal(again.Usage.Calls, again.Usage.CacheHits);
        Assert.True(again.Usage.InputTokens > 0);
        Assert.Equal(0m, again.Cost!.Amount);
        Assert.Null((await db.RunSummaryAsync(second))!.Cost);
    }

    [Fact]
    public async Task A_host_with_a_price_list_it_cannot_use_does_not_start_and_names_the_problem()
    {
        var connection = await postgres.CreateDatabaseAsync();
        var refused = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => TestPipeline.StartAsync(connection, new PipelineSetup
        {
            Settings = new Dictionary<string, string?>
            {
                ["PersonaGym:Pricing:Models:0:Model"] = "gpt-4o",
                ["PersonaGym:Pricing:Models:0:InputPerMillionTokens"] = "2.5",
            },
        }));
        Assert.Contains("PersonaGym:Pricing: Models[0] names no model spec", refused.Message, StringComparison.Ordinal);
    }
}
