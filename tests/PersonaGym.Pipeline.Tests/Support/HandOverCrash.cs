using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace PersonaGym.Pipeline.Tests.Support;

/// <summary>
/// A crash between a consumer's save and its publish: the first publish of <see cref="MessageType"/> throws, as
/// when the process dies or the broker connection drops right after the database commit.
/// </summary>
public sealed class PublishFault(Type messageType)
{
    private int _fired;

    public Type MessageType { get; } = messageType;

    public bool Fired => Volatile.Read(ref _fired) == 1;

    public bool ShouldFail(Type messageType) => messageType == MessageType && Interlocked.Exchange(ref _fired, 1) == 0;

    /// <summary>Installs the fault on every receive endpoint's publish pipe (where consumers publish their hand-overs).</summary>
    public void Install(IBusRegistrationConfigurator bus)
    {
        bus.AddSingleton(this);
        bus.AddConfigureEndpointsCallback((context, _, endpoint) => endpoint.UsePublishFilter(typeof(FailFirstPublishFilter<>), context));
    }
}

public sealed class FailFirstPublishFilter<T>(PublishFault fault) : IFilter<PublishContext<T>>
    where T : class
{
    public Task Send(PublishContext<T> context, IPipe<PublishContext<T>> next)
    {
        if (fault.ShouldFail(typeof(T)))
            throw new InvalidOperationException($"Simulated crash after the save, before publishing {typeof(T).Name}.");
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("failFirstPublish");
}
