using Microsoft.Extensions.Time.Testing;

namespace PersonaGym.AppHost.Tests;

/// <summary>
/// The AppHost's restart delays for an exiting worker replica (docs/security.md, "An exited worker is started again"),
/// on a fake clock: no system is started.
/// </summary>
public sealed class WorkerRestartBackoffTests
{
    private static readonly TimeSpan Briefly = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void The_first_restart_waits_a_second_and_every_further_exit_doubles_the_wait_up_to_a_minute()
    {
        var backoff = new WorkerRestartBackoff(_time);

        var waits = Enumerable.Range(0, 9).Select(_ => CrashAfter(backoff, Briefly)).ToList();

        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], waits.Select(w => w.TotalSeconds));
    }

    [Fact]
    public void An_exit_after_five_minutes_of_running_waits_a_second_again_and_the_doubling_starts_over()
    {
        var backoff = new WorkerRestartBackoff(_time);
        for (var i = 0; i < 8; i++) CrashAfter(backoff, Briefly);
        Assert.Equal(WorkerRestartBackoff.MaxDelay, CrashAfter(backoff, Briefly));

        Assert.Equal(TimeSpan.FromSeconds(1), CrashAfter(backoff, TimeSpan.FromMinutes(5)));
        Assert.Equal(TimeSpan.FromSeconds(2), CrashAfter(backoff, Briefly));
    }

    [Fact]
    public void An_exit_after_less_than_five_minutes_of_running_keeps_doubling()
    {
        var backoff = new WorkerRestartBackoff(_time);
        for (var i = 0; i < 3; i++) CrashAfter(backoff, Briefly);

        Assert.Equal(TimeSpan.FromSeconds(8), CrashAfter(backoff, TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Time_spent_exited_between_restarts_is_not_running_time()
    {
        var backoff = new WorkerRestartBackoff(_time);
        for (var i = 0; i < 3; i++) CrashAfter(backoff, Briefly);

        // Exited for ten minutes (a slow restart, a replica stopped from the dashboard), then a crash soon after start.
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(TimeSpan.FromSeconds(8), CrashAfter(backoff, Briefly));
    }

    [Fact]
    public void A_replica_that_fails_to_start_again_and_again_keeps_doubling()
    {
        var backoff = new WorkerRestartBackoff(_time);
        CrashAfter(backoff, Briefly);

        var waits = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(6));
            waits.Add(backoff.Exited());
        }

        Assert.Equal([2, 4, 8], waits.Select(w => w.TotalSeconds));
    }

    /// <summary>The replica runs for <paramref name="ranFor"/> and exits; the wait it is given, after which it runs again.</summary>
    private TimeSpan CrashAfter(WorkerRestartBackoff backoff, TimeSpan ranFor)
    {
        backoff.Running();
        _time.Advance(ranFor);
        var wait = backoff.Exited();
        _time.Advance(wait);
        return wait;
    }
}
