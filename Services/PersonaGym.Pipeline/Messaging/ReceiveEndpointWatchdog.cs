using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PersonaGym.Contracts;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Pipeline.Messaging;

/// <summary>
/// Restarts a receive endpoint of this process that has stopped consuming while the broker answers. After a broker
/// outage MassTransit reconnects its endpoints within seconds, but an endpoint whose message was being consumed when
/// the connection died can stay faulted for good (MassTransit issues #2072, #5942): the process looks alive and its
/// queue fills up with nobody taking from it. Every <see cref="PipelineOptions.EndpointRecoveryTimeout"/> ÷ 6 the
/// watchdog asks the bus for its endpoints' health and the broker for each stage queue's consumer count; an endpoint
/// that is unhealthy, or whose queue has no consumer at all, for the whole timeout while the broker answers is stopped
/// and started again. While the broker is unreachable nothing is restarted: that is an outage, and MassTransit's own
/// reconnection handles it.
/// </summary>
public sealed class ReceiveEndpointWatchdog(
    IBusControl bus,
    IStageQueues broker,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<ReceiveEndpointWatchdog> logger) : BackgroundService
{
    private static readonly TimeSpan BrokerAnswerTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The queues a stage endpoint consumes from; other endpoints (the bus's own reply queue) are not watched.</summary>
    private static readonly HashSet<string> StageQueues = new(StringComparer.Ordinal)
    {
        Endpoints.QuestionGenerator, Endpoints.AgentRunner, Endpoints.Judge, Endpoints.Progress,
    };

    private int _restarts;

    /// <summary>How many endpoint restarts this process has made (for tests and diagnostics).</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timeout = options.Value.EndpointRecoveryTimeout;
        if (timeout <= TimeSpan.Zero) return;

        var policy = new EndpointRecoveryPolicy(timeout);
        var interval = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 6, TimeSpan.FromMilliseconds(250).Ticks, TimeSpan.FromSeconds(10).Ticks));
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await CheckAsync(policy, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "The receive endpoint check failed; trying again in {Interval}", interval);
            }
        }
    }

    private async Task CheckAsync(EndpointRecoveryPolicy policy, CancellationToken cancellationToken)
    {
        var endpoints = new Dictionary<string, EndpointHealthResult>(StringComparer.Ordinal);
        foreach (var endpoint in bus.CheckHealth().Endpoints.Values)
        {
            if (QueueOf(endpoint.InputAddress) is { } queue && StageQueues.Contains(queue)) endpoints.TryAdd(queue, endpoint);
        }
        if (endpoints.Count == 0) return;

        IReadOnlyList<StageQueueState> queues;
        try
        {
            using var answer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            answer.CancelAfter(BrokerAnswerTimeout);
            queues = await broker.ReadAsync(endpoints.Keys, answer.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is BrokerUnreachableException or OperationCanceledException)
        {
            policy.Due(time.GetUtcNow(), consuming: null);
            return;
        }

        var consumers = queues.ToDictionary(q => q.Queue, q => q.Consumers, StringComparer.Ordinal);
        var consuming = endpoints.ToDictionary(
            e => e.Key,
            e => e.Value.Status == BusHealthStatus.Healthy && consumers.GetValueOrDefault(e.Key) > 0,
            StringComparer.Ordinal);

        foreach (var queue in policy.Due(time.GetUtcNow(), consuming))
        {
            var endpoint = endpoints[queue];
            logger.LogWarning(
                "The receive endpoint of queue '{Queue}' has not consumed for {Timeout} while the broker answers (MassTransit says: {Status}, {Description}; consumers on the queue: {Consumers}): restarting it",
                queue, policy.Timeout, endpoint.Status, endpoint.Description, consumers.GetValueOrDefault(queue));
            await RestartAsync(queue, endpoint.ReceiveEndpoint, cancellationToken);
        }
    }

    private async Task RestartAsync(string queue, IReceiveEndpoint endpoint, CancellationToken cancellationToken)
    {
        try
        {
            // Stopping waits for the messages being consumed; a transport that hangs is given up on after StopTimeout.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stop.CancelAfter(StopTimeout);
            await endpoint.Stop(stop.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "Stopping the receive endpoint of queue '{Queue}' failed; starting it anyway", queue);
        }

        try
        {
            endpoint.Start(cancellationToken);
            Interlocked.Increment(ref _restarts);
            logger.LogInformation("The receive endpoint of queue '{Queue}' was started again", queue);
        }
        catch (InvalidOperationException e)
        {
            // Still held by a stop that did not finish: the next timeout tries again.
            logger.LogError(e, "The receive endpoint of queue '{Queue}' could not be started again; trying again after the next timeout", queue);
        }
    }

    /// <summary>The queue name of an endpoint's input address (<c>rabbitmq://host/vhost/agent-runner?…</c>).</summary>
    internal static string? QueueOf(Uri? address) =>
        address?.AbsolutePath.TrimEnd('/') is { Length: > 0 } path ? Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..]) : null;
}

/// <summary>
/// When a receive endpoint is due for a restart: when it has been seen not consuming at every check for
/// <see cref="Timeout"/> while the broker answered. A check without an answer from the broker (an outage) starts every
/// clock again, so an endpoint gets the whole timeout to reconnect by itself once the broker is back. After a restart
/// its clock starts again.
/// </summary>
public sealed class EndpointRecoveryPolicy(TimeSpan timeout)
{
    private readonly Dictionary<string, DateTimeOffset> _downSince = new(StringComparer.Ordinal);

    public TimeSpan Timeout { get; } = timeout;

    /// <param name="now">The time of the check.</param>
    /// <param name="consuming">Per queue, whether its endpoint consumes; null when the broker did not answer.</param>
    /// <returns>The queues whose endpoints are to be restarted now.</returns>
    public IReadOnlyList<string> Due(DateTimeOffset now, IReadOnlyDictionary<string, bool>? consuming)
    {
        if (consuming is null)
        {
            _downSince.Clear();
            return [];
        }

        foreach (var gone in _downSince.Keys.Where(queue => !consuming.ContainsKey(queue)).ToList()) _downSince.Remove(gone);
        var due = new List<string>();
        foreach (var (queue, ok) in consuming)
        {
            if (ok) _downSince.Remove(queue);
            else if (!_downSince.TryGetValue(queue, out var since)) _downSince[queue] = now;
            else if (now - since >= Timeout)
            {
                due.Add(queue);
                _downSince[queue] = now;
            }
        }

        return due;
    }
}
