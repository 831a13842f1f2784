using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PersonaGym.Contracts;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

/// <summary>A condition of the system that stops every run, and since when it holds.</summary>
public sealed record SystemCondition(string Reason, DateTimeOffset Since);

/// <summary>
/// What the coordinating process last found about the servers every run needs. The Api answers from it while the
/// database is unreachable (a 503 with the reason at once, instead of a request that hangs in connection retries)
/// and does not wait for a broker it knows is down.
/// </summary>
public sealed class PipelineConditions
{
    private SystemCondition? _database;
    private volatile SystemCondition? _broker;
    private volatile bool _republishPending;

    /// <summary>Set while the database cannot be reached.</summary>
    public SystemCondition? Database { get => Volatile.Read(ref _database); internal set => Volatile.Write(ref _database, value); }

    /// <summary>Set while the message broker cannot be reached.</summary>
    public SystemCondition? Broker { get => _broker; internal set => _broker = value; }

    /// <summary>
    /// Set when messages may have been lost (an outage, or a stored run whose first messages the broker did not take):
    /// the stall detector then publishes the unfinished work of every running run again, once the broker answers.
    /// </summary>
    public bool RepublishPending { get => _republishPending; set => _republishPending = value; }

    /// <summary>Clears <see cref="Database"/> if it still holds <paramref name="outage"/>; true if it did.</summary>
    internal bool ClearDatabase(SystemCondition outage) => Interlocked.CompareExchange(ref _database, null, outage) == outage;
}

/// <summary>
/// Looks at every running run each <see cref="PipelineOptions.StallCheckInterval"/> and says, on the run itself
/// (<see cref="Run.Stall"/>, shown by <c>show</c>, <c>GET /api/runs/{id}</c> and the web app), why it cannot progress:
/// the broker is unreachable, a stage with work waiting has had no consumer on its queue for
/// <see cref="PipelineOptions.NoConsumerGrace"/> (every replica of that worker is gone, not just starting), or nothing
/// was recorded for <see cref="PipelineOptions.ProgressTimeout"/>. The reason is cleared as soon as the cause goes away. When the broker or the database comes back after an outage, the unfinished work of every
/// running run is published again, so what the outage lost costs only time (consumers are idempotent).
/// </summary>
public sealed class StallDetector(
    IDbContextFactory<PersonaGymDbContext> contexts,
    RunCoordinator coordinator,
    PipelineConditions conditions,
    IServiceProvider services,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<StallDetector> logger) : BackgroundService
{
    /// <summary>How long one look at the database or the broker may take before it counts as unreachable.</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Since when each stage's queue has been seen without a consumer, at every check since (one checking loop).</summary>
    private readonly Dictionary<string, DateTimeOffset> _withoutConsumerSince = new(StringComparer.Ordinal);

    /// <summary>Whether the broker refused a check during the current broker condition (not only answered late).</summary>
    private bool _brokerRefused;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.StallCheckInterval;
        if (interval <= TimeSpan.Zero) return;

        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                await CheckAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Stall check failed; trying again in {Interval}", interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One look at the servers and every running run; returns the runs reported as stalled.</summary>
    public async Task<int> CheckAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();

        IReadOnlyList<RunState> runs;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(AnswerTimeout);
            runs = await ReadRunningRunsAsync(now - settings.ProgressTimeout, timeout.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && (e is OperationCanceledException || DbExceptions.IsUnavailable(e)))
        {
            if (conditions.Database is null) logger.LogWarning(e, "The database is unreachable: runs cannot progress until it is back");
            var reason = e is OperationCanceledException
                ? $"the database did not answer within {AnswerTimeout.TotalSeconds:0} s"
                : $"the database is unreachable ({Describe(e)})";
            conditions.Database = new SystemCondition(reason, conditions.Database?.Since ?? now);
            // Only a database that refused is evidence of lost messages (consumers failing until their messages went
            // to the error queue). A check that merely timed out on a busy machine is not: republishing then made
            // deliveries of batches still queued or being answered, each answering and paying for the same calls. Work
            // lost while the database only answered slowly is found by the sweeper after ProgressTimeout.
            if (e is not OperationCanceledException) conditions.RepublishPending = true;
            return 0;
        }

        if (conditions.Database is not null) logger.LogInformation("The database is reachable again");
        conditions.Database = null;

        var queues = await ReadQueuesAsync(now, cancellationToken);
        // Unknown while the broker cannot be asked: when it is back, consumers reconnecting get the grace again.
        if (queues is null) _withoutConsumerSince.Clear();
        else
        {
            foreach (var (queue, state) in queues)
            {
                if (state.Consumers > 0) _withoutConsumerSince.Remove(queue);
                else _withoutConsumerSince.TryAdd(queue, now);
            }
        }

        var stalled = 0;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        foreach (var run in runs)
        {
            var reason = StallReason(run, queues, settings, now);
            if (reason is not null) stalled++;
            if (reason == run.Stall) continue;

            var since = reason is null ? (DateTimeOffset?)null : run.StalledSince ?? now;
            await db.Runs.Where(r => r.Id == run.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Stall, reason).SetProperty(r => r.StalledSince, since), cancellationToken);
            if (reason is null) logger.LogInformation("Run {RunId} progresses again", run.Id);
            else logger.LogWarning("Run {RunId} cannot progress: {Reason}", run.Id, reason);
        }

        if (conditions.RepublishPending && conditions.Broker is null) await RepublishAfterOutageAsync(cancellationToken);
        return stalled;
    }

    private string? StallReason(RunState run, IReadOnlyDictionary<string, StageQueueState>? queues, PipelineOptions settings, DateTimeOffset now)
    {
        var reasons = new List<string>();
        if (conditions.Broker is { } broker)
        {
            reasons.Add($"{broker.Reason} since {broker.Since:u}: no work moves until it is back");
        }
        else if (queues is not null)
        {
            void NoConsumer(string queue, int waiting, string what)
            {
                if (waiting > 0 && queues.TryGetValue(queue, out var state) && state.Consumers == 0
                    && _withoutConsumerSince.TryGetValue(queue, out var since) && now - since >= settings.NoConsumerGrace)
                    reasons.Add($"no consumer on queue '{queue}' (no {queue} process is running): {waiting} {what} wait there");
            }

            NoConsumer(Endpoints.QuestionGenerator, run.WaitingForQuestions, "persona(s)");
            NoConsumer(Endpoints.AgentRunner, run.Answering, "batch(es)");
            NoConsumer(Endpoints.Judge, run.Judging, "batch(es)");
        }

        if (!run.Progressed)
        {
            reasons.Add($"no progress for {Describe(settings.ProgressTimeout)}: no model call was recorded in that time");
        }

        return reasons.Count == 0 ? null : RunCoordinator.Truncate(string.Join("; ", reasons));
    }

    private async Task<IReadOnlyList<RunState>> ReadRunningRunsAsync(DateTimeOffset progressSince, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Runs.AsNoTracking()
            .Where(r => r.Status == RunStatus.Running || r.Status == RunStatus.Pending)
            .Select(r => new RunState(
                r.Id,
                r.Stall,
                r.StalledSince,
                r.Personas.Count(p => p.Status == RunPersonaStatus.Pending || p.Status == RunPersonaStatus.GeneratingQuestions),
                db.BatchWork.Count(w => w.RunId == r.Id && w.Stage == BatchStage.Answering),
                db.BatchWork.Count(w => w.RunId == r.Id && w.Stage == BatchStage.Judging),
                // Progress is a model call answered (the cache's included) or the run started or resumed lately.
                r.CreatedAt >= progressSince || r.UpdatedAt >= progressSince
                    || db.LlmCalls.Any(c => c.RunId == r.Id && c.Succeeded && c.At >= progressSince)))
            .ToListAsync(cancellationToken);
    }

    /// <summary>The stages' queues by name, or null without a broker to ask (the in-memory bus); sets <see cref="PipelineConditions.Broker"/>.</summary>
    private async Task<IReadOnlyDictionary<string, StageQueueState>?> ReadQueuesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var broker = services.GetService<IStageQueues>();
        if (broker is null) return null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(AnswerTimeout);
            var states = await broker.ReadAsync([Endpoints.QuestionGenerator, Endpoints.AgentRunner, Endpoints.Judge], timeout.Token);
            if (conditions.Broker is not null)
            {
                logger.LogInformation("The message broker is reachable again");
                // As with the database: publishes are lost only to a broker that was unreachable, not to a slow answer.
                if (_brokerRefused) conditions.RepublishPending = true;
                conditions.Broker = null;
                _brokerRefused = false;
            }

            return states.ToDictionary(s => s.Queue);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is BrokerUnreachableException or OperationCanceledException)
        {
            if (conditions.Broker is null) logger.LogWarning("The message broker is unreachable: runs cannot progress until it is back ({Reason})", e.Message);
            var reason = e is BrokerUnreachableException ? e.Message : $"the message broker did not answer within {AnswerTimeout.TotalSeconds:0} s";
            conditions.Broker = new SystemCondition(reason, conditions.Broker?.Since ?? now);
            if (e is BrokerUnreachableException) _brokerRefused = true;
            return null;
        }
    }

    /// <summary>
    /// After the broker or the database was lost, messages in flight may be gone (published into a dead connection,
    /// or moved to an error queue after their retries failed against the database): every unfinished item of every
    /// running run is published again. A message for work that is in fact stored costs a lookup.
    /// </summary>
    private async Task RepublishAfterOutageAsync(CancellationToken cancellationToken)
    {
        // Cleared before the runs are read, so a run stored meanwhile with its messages lost is seen now or next time.
        conditions.RepublishPending = false;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(AnswerTimeout * 3);
            await using var db = await contexts.CreateDbContextAsync(timeout.Token);
            var runs = await db.Runs.AsNoTracking().Where(r => r.Status == RunStatus.Running || r.Status == RunStatus.Pending)
                .Select(r => r.Id).ToListAsync(timeout.Token);
            var bus = services.GetRequiredService<IBus>();
            var published = 0;
            foreach (var runId in runs)
            {
                published += await coordinator.RepublishAsync(runId, bus, stalledBefore: null, timeout.Token);
            }

            if (published > 0) logger.LogInformation("Published {Count} unfinished items of {Runs} running runs again after an outage", published, runs.Count);
        }
        catch
        {
            conditions.RepublishPending = true;
            throw;
        }
    }

    private static string Describe(Exception e)
    {
        var innermost = e;
        while (innermost.InnerException is not null) innermost = innermost.InnerException;
        return ReasonText.Brief(innermost.Message);
    }

    private static string Describe(TimeSpan span) =>
        span.TotalMinutes >= 1 && span.Seconds == 0 ? $"{span.TotalMinutes:0} min" : $"{span.TotalSeconds:0} s";

    private sealed record RunState(
        Guid Id, string? Stall, DateTimeOffset? StalledSince, int WaitingForQuestions, int Answering, int Judging, bool Progressed);
}
