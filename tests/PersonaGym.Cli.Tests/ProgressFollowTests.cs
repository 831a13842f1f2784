using PersonaGym.Cli.Display;
using PersonaGym.Data;
using Spectre.Console;

namespace PersonaGym.Cli.Tests;

/// <summary>How `run` follows a run in this process: it polls the summary, and ends as soon as the pipeline says the run finished.</summary>
public sealed class ProgressFollowTests
{
    private static ProgressDisplay Display(TimeSpan pollInterval) =>
        new(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(new StringWriter()), Interactive = InteractionSupport.No }), pollInterval);

    [Fact]
    public async Task A_finish_the_pipeline_signals_ends_the_follow_without_waiting_out_the_poll_interval()
    {
        var finished = new TaskCompletionSource();
        var polls = 0;
        var follow = Display(TimeSpan.FromHours(1)).FollowAsync(_ =>
        {
            polls++;
            if (polls == 1)
            {
                // The run finishes after the first look: only the signal can end an hour's wait for the second.
                finished.SetResult();
                return Task.FromResult<RunSummary?>(TestSummaries.PartWay(RunStatus.Running));
            }

            return Task.FromResult<RunSummary?>(TestSummaries.PartWay(RunStatus.Completed));
        }, 10, CancellationToken.None, finished.Task);

        var summary = await follow.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(RunStatus.Completed, summary.Status);
        Assert.Equal(2, polls);
    }

    [Fact]
    public async Task A_signal_the_summary_does_not_bear_out_goes_back_to_polling_at_the_interval()
    {
        // The signal came (a run resumed at once, say) but the run still reads as running: one look at once, then the
        // follower must wait the interval again, not poll in a loop.
        var polls = 0;
        using var stop = new CancellationTokenSource();
        var follow = Display(TimeSpan.FromHours(1)).FollowAsync(_ =>
        {
            Interlocked.Increment(ref polls);
            return Task.FromResult<RunSummary?>(TestSummaries.PartWay(RunStatus.Running));
        }, 10, stop.Token, Task.CompletedTask);

        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(follow.IsCompleted);
        Assert.Equal(2, Volatile.Read(ref polls));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => follow);
    }
}
