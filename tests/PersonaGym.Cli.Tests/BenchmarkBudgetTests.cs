using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;

namespace PersonaGym.Cli.Tests;

/// <summary>A budget stops a benchmark run, and resuming it pays for nothing twice.</summary>
public sealed class BenchmarkBudgetTests : IDisposable
{
    private readonly CliSession _interrupted = new("budget");
    private readonly CliSession _uninterrupted = new("unbudgeted");

    public void Dispose()
    {
        _interrupted.Dispose();
        _uninterrupted.Dispose();
    }

    private static async Task ImportFixtureAsync(CliSession cli)
    {
        BenchmarkSource.WriteFixture(cli.PathOf("bench"));
        var import = await cli.RunAsync("benchmark", "import", cli.PathOf("bench"));
        Assert.True(import.ExitCode == 0, import.ToString());
    }

    private static readonly string[] Request = ["run", "--question-set", "bench", "--limit", "2", "--name", "budgeted"];

    [Fact]
    public async Task A_run_stopped_at_its_call_budget_resumes_to_completion_with_the_calls_of_an_uninterrupted_run()
    {
        await ImportFixtureAsync(_interrupted);

        var stopped = await _interrupted.RunAsync([.. Request, "--max-calls", "20"]);

        Assert.True(stopped.ExitCode == ExitCodes.Partial, stopped.ToString());
        var run = await _interrupted.SingleRunAsync();
        Assert.Equal(RunStatus.Stopped, run.Status);
        int callsWhenStopped;
        await using (var db = _interrupted.OpenDatabase())
        {
            callsWhenStopped = await db.LlmCalls.CountAsync(c => c.RunId == run.Id);
            // The budget is checked as each batch starts: batches already started when it was reached finish (their
            // calls may go over it), but no batch starts after it, so the run stops short of the whole run's calls.
            Assert.True(callsWhenStopped >= 20, $"stopped after {callsWhenStopped} calls, before its budget of 20");
        }

        var resumed = await _interrupted.RunAsync("resume", run.Id.ToString(), "--max-calls", "1000");

        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.ToString());
        Assert.Equal(RunStatus.Completed, (await _interrupted.SingleRunAsync()).Status);

        await ImportFixtureAsync(_uninterrupted);
        var whole = await _uninterrupted.RunAsync([.. Request]);
        Assert.True(whole.ExitCode == ExitCodes.Success, whole.ToString());

        var (paidResumed, answersResumed) = await PaidCallsAsync(_interrupted);
        var (paidWhole, answersWhole) = await PaidCallsAsync(_uninterrupted);
        Assert.True(callsWhenStopped < paidWhole, $"the budget stopped nothing: {callsWhenStopped} calls of the whole run's {paidWhole}");
        Assert.Equal(paidWhole, paidResumed);
        Assert.Equal(answersWhole, answersResumed);
        Assert.Equal(2 * BenchmarkSource.FixtureQuestionsPerTask.Values.Sum(), answersResumed);
    }

    private static async Task<(int PaidCalls, int Answers)> PaidCallsAsync(CliSession cli)
    {
        await using var db = cli.OpenDatabase();
        return (await db.LlmCalls.CountAsync(c => !c.CacheHit), await db.Answers.CountAsync());
    }
}
