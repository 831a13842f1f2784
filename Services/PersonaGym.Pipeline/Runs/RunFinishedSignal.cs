using System.Collections.Concurrent;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// Tells a follower in the same process the moment a run stops being active (finished, stopped at its budget,
/// cancelled), so the CLI's local mode ends its progress display then instead of at its next poll of the database.
/// A hint only: the follower still reads the run's status from the database, and polls anyway, so a run finished by
/// another process, or a notice given before anyone waited, costs at most one poll interval. Only runs that somebody
/// waits for are held, so a long-running service that never waits keeps nothing.
/// </summary>
public sealed class RunFinishedSignal
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _waiting = new();

    /// <summary>A task that completes when this process next marks <paramref name="runId"/> no longer active.</summary>
    public Task WhenFinished(Guid runId) =>
        _waiting.GetOrAdd(runId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Called once the run's new status is committed.</summary>
    public void Finished(Guid runId)
    {
        if (_waiting.TryRemove(runId, out var waiter)) waiter.TrySetResult();
    }
}
