using MassTransit;

namespace PersonaGym.Pipeline.Tests.Support;

/// <summary>
/// A crash between a consumer's save and its publish: the first publish of <see cref="MessageType"/> throws, as
/// when the process dies or the broker connection drops right after the database commit.
/// </summary>
/// <remarks>
/// A filter on each receive endpoint's publish pipe: the stages' in-memory outbox publishes through it once the
/// consumer returned, so its exception fails the delivery, which MassTransit retries. (A publish observer's exception
/// would not: MassTransit does not let observers fail a publish.)
/// </remarks>
public sealed class HandOverCrash(Type messageType) : IFilter<PublishContext>
{
    private int _fired;

    public Type MessageType { get; } = messageType;

    public bool Fired => Volatile.Read(ref _fired) == 1;

    /// <summary>Installs the fault on every receive endpoint's publish pipe, where consumers publish their hand-overs.</summary>
    public void Install(IBusRegistrationConfigurator bus) =>
        bus.AddConfigureEndpointsCallback((_, _, endpoint) => endpoint.ConfigurePublish(publish => publish.UseFilter(this)));

    public Task Send(PublishContext context, IPipe<PublishContext> next)
    {
        if (typeof(PublishContext<>).MakeGenericType(MessageType).IsInstanceOfType(context) && Interlocked.Exchange(ref _fired, 1) == 0)
            throw new InvalidOperationException($"Simulated crash after the save, before publishing {MessageType.Name}.");
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("handOverCrash");
}
