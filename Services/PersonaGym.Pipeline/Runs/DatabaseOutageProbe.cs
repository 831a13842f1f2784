using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// Asks the database itself, at most every <see cref="Interval"/>, while <see cref="PipelineConditions.Database"/>
/// says it is down, and clears the outage as soon as it answers. Without it the Api would keep refusing requests
/// with a 503 until the stall detector's next check (up to <see cref="PipelineOptions.StallCheckInterval"/>) after
/// the server is back, or after a single check that timed out on a busy machine.
/// </summary>
public sealed class DatabaseOutageProbe(
    IDbContextFactory<PersonaGymDbContext> contexts,
    PipelineConditions conditions,
    TimeProvider time,
    ILogger<DatabaseOutageProbe> logger)
{
    /// <summary>The least time between two probes; also what the Api's 503 tells a client to wait (Retry-After).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>How long one probe may take before the database counts as still down.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private long _lastProbeTicks = long.MinValue;
    private int _probing;

    /// <summary>
    /// The outage, if the database is still down: null at once when none is recorded; otherwise one caller probes
    /// (others answer from the record meanwhile) and a probe that gets an answer clears the record.
    /// </summary>
    public async ValueTask<SystemCondition?> CurrentOutageAsync(CancellationToken cancellationToken)
    {
        if (conditions.Database is not { } outage) return null;

        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastProbeTicks);
        if (last != long.MinValue && time.GetElapsedTime(last, now) < Interval) return outage;
        if (Interlocked.CompareExchange(ref _probing, 1, 0) != 0) return outage;
        try
        {
            Interlocked.Exchange(ref _lastProbeTicks, now);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            await using var db = await contexts.CreateDbContextAsync(timeout.Token);
            // A statement, not only an open: a pooled connection the restart broke fails here and leaves the pool.
            await db.Database.ExecuteSqlRawAsync("SELECT 1", timeout.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Whatever the cause, the database did not answer: the outage stands, and the stall detector logs its reason.
            logger.LogDebug(e, "The database still does not answer");
            return conditions.Database;
        }
        finally
        {
            Volatile.Write(ref _probing, 0);
        }

        // The record may have changed meanwhile; only the outage this probe saw answered is cleared.
        if (conditions.ClearDatabase(outage)) logger.LogInformation("The database is reachable again (down since {Since:u})", outage.Since);
        return null;
    }
}
