namespace PersonaGym.AppHost;

/// <summary>
/// How long one worker replica waits before it is started again after exiting: 1 s after the first exit, doubling
/// with every further exit up to a minute while it keeps exiting, and 1 s again once it had run for five minutes
/// before exiting (a crash after that long is a new failure, not the same crash loop). Only time spent running counts:
/// the waits between restarts do not reset the delay.
/// </summary>
public sealed class WorkerRestartBackoff(TimeProvider time)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan StableAfter = TimeSpan.FromMinutes(5);

    private TimeSpan _next = FirstDelay;
    private DateTimeOffset? _runningSince;

    /// <summary>The replica is running (it started, or was started again).</summary>
    public void Running() => _runningSince ??= time.GetUtcNow();

    /// <summary>The replica exited (or failed to start): the wait before it is started again.</summary>
    public TimeSpan Exited()
    {
        if (_runningSince is { } since && time.GetUtcNow() - since >= StableAfter) _next = FirstDelay;
        _runningSince = null;
        var wait = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, MaxDelay.Ticks));
        return wait;
    }
}
