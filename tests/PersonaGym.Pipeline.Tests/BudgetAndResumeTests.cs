using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// Runs that stop part-way (budget reached, process stopped) and are resumed pay for no call twice: their paid calls
/// equal those of the same run made in one go on a fresh database.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class BudgetAndResumeTests(PostgresServer postgres)
{
    // Default concurrency: exemplar claims keep agents judging the same batch from paying twice, so an
    // uninterrupted run makes a fixed number of calls to compare with.
    private static PipelineSetup DefaultSetup() => new();

    [Fact]
    public async Task A_call_budget_stops_the_run_and_resume_with_a_larger_budget_completes_it_without_paying_twice()
    {
        var request = TestRuns.Request(maxCalls: 8);
        var uninterrupted = await UninterruptedPaidCallsAsync(request with { MaxCalls = null });

        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), DefaultSetup());
        var runId = await pipeline.SubmitAsync(request);

        Assert.Equal(RunStatus.Stopped, await pipeline.WaitForRunAsync(runId, RunStatus.Stopped, RunStatus.Completed, RunStatus.CompletedWithFailures));
        await using (var db = pipeline.NewContext())
        {
            var run = await db.Runs.SingleAsync(r => r.Id == runId);
            Assert.Contains("call budget", run.Error);
        }
        Assert.True(await pipeline.PaidCallsAsync(runId) < uninterrupted);

        await pipeline.ResumeAsync(runId, maxCalls: 100_000);

        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(runId));
        Assert.Equal(TestRuns.Expected(request), await pipeline.CountRowsAsync(runId));
        Assert.Equal(uninterrupted, await pipeline.PaidCallsAsync(runId));
    }

    [Fact]
    public async Task A_run_whose_process_stopped_midway_resumes_in_a_new_process_without_paying_twice()
    {
        var request = TestRuns.Request();
        var uninterrupted = await UninterruptedPaidCallsAsync(request);
        var (database, runId) = await StopAfterTheFirstJudgedBatchAsync(request);

        await using var second = await TestPipeline.StartAsync(database, DefaultSetup());
        Assert.Equal(RunStatus.Running, await second.StatusAsync(runId));
        await second.ResumeAsync(runId);

        Assert.Equal(RunStatus.Completed, await second.WaitForRunAsync(runId));
        Assert.Equal(TestRuns.Expected(request), await second.CountRowsAsync(runId));
        Assert.Equal(uninterrupted, await second.PaidCallsAsync(runId));
    }

    [Fact]
    public async Task The_sweeper_finds_a_run_whose_messages_were_lost_and_completes_it()
    {
        var request = TestRuns.Request();
        var uninterrupted = await UninterruptedPaidCallsAsync(request);
        var (database, runId) = await StopAfterTheFirstJudgedBatchAsync(request);

        // No resume: only the sweeper of the new process knows there is anything to do.
        await using var second = await TestPipeline.StartAsync(database, DefaultSetup() with
        {
            Settings = new Dictionary<string, string?>(DefaultSetup().Settings)
            {
                ["PersonaGym:Pipeline:SweepInterval"] = "00:00:00.200",
                ["PersonaGym:Pipeline:StallTimeout"] = "00:00:00.500",
            },
        });

        Assert.Equal(RunStatus.Completed, await second.WaitForRunAsync(runId));
        Assert.Equal(TestRuns.Expected(request), await second.CountRowsAsync(runId));
        Assert.Equal(uninterrupted, await second.PaidCallsAsync(runId));
    }

    /// <summary>Submits the run in a first process on a fresh database and stops that process once a batch is judged.</summary>
    private async Task<(string Database, Guid RunId)> StopAfterTheFirstJudgedBatchAsync(RunRequest request)
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var first = await TestPipeline.StartAsync(database, DefaultSetup());
        var runId = await first.SubmitAsync(request);
        await Wait.UntilAsync(async () =>
        {
            await using var db = first.NewContext();
            return await db.BatchWork.AnyAsync(w => w.RunId == runId && w.Stage == BatchStage.Done);
        }, "the first batch to be judged");
        await first.StopAsync();
        return (database, runId);
    }

    private async Task<int> UninterruptedPaidCallsAsync(RunRequest request)
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), DefaultSetup());
        var runId = await pipeline.SubmitAsync(request);
        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(runId));
        return await pipeline.PaidCallsAsync(runId);
    }
}
