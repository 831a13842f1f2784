using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace PersonaGym.Pipeline.Runs;

/// <summary>What the broker says about one stage's queue.</summary>
public sealed record StageQueueState(string Queue, uint Messages, uint Consumers);

/// <summary>Thrown when the broker cannot be reached or does not answer in time.</summary>
public sealed class BrokerUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads message and consumer counts of the stages' queues from the broker.</summary>
public interface IStageQueues
{
    /// <summary>The state of each named queue; a queue that does not exist has no consumer and no message.</summary>
    /// <exception cref="BrokerUnreachableException">The broker could not be reached.</exception>
    Task<IReadOnlyList<StageQueueState>> ReadAsync(IReadOnlyCollection<string> queues, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IStageQueues"/> over RabbitMQ: a passive queue declaration answers with the queue's message and
/// consumer counts without changing anything. Holds one connection of its own (MassTransit's is not reachable from
/// outside the bus), opened on first use and opened again after the broker was lost.
/// </summary>
public sealed class RabbitMqStageQueues(Uri broker) : IStageQueues, IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;

    public async Task<IReadOnlyList<StageQueueState>> ReadAsync(IReadOnlyCollection<string> queues, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var connection = await ConnectAsync(cancellationToken);
            var states = new List<StageQueueState>(queues.Count);
            foreach (var queue in queues)
            {
                // A channel per queue: a passive declaration of a missing queue closes its channel (404).
                await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
                try
                {
                    var ok = await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
                    states.Add(new StageQueueState(queue, ok.MessageCount, ok.ConsumerCount));
                }
                catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
                {
                    states.Add(new StageQueueState(queue, 0, 0));
                }
            }

            return states;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await DropConnectionAsync();
            if (e is BrokerUnreachableException) throw;
            throw new BrokerUnreachableException($"the message broker is unreachable ({e.GetType().Name}: {ReasonText.Brief(e.Message)})", e);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsOpen: true } open) return open;
        await DropConnectionAsync();
        var factory = new ConnectionFactory
        {
            Uri = broker,
            RequestedConnectionTimeout = ConnectTimeout,
            // Reconnection is this class's business (on the next read), so a lost broker is seen, not hidden.
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            ClientProvidedName = "personagym-stall-detector",
        };
        _connection = await factory.CreateConnectionAsync(cancellationToken);
        return _connection;
    }

    private async Task DropConnectionAsync()
    {
        var connection = _connection;
        _connection = null;
        if (connection is null) return;
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception)
        {
            // The connection is gone already; nothing to release.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DropConnectionAsync();
        _gate.Dispose();
    }
}
