using MassTransit;
using PersonaGym.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PersonaGym.Pipeline.Runs;

using PersonaGym.Pipeline.Stages;

namespace PersonaGym.Pipeline.Messaging;

/// <summary>Which pipeline stages a process hosts.</summary>
[Flags]
public enum PipelineStages
{
    None = 0,
    QuestionGeneration = 1,
    Answering = 2,
    Judging = 4,
    /// <summary>Completion detection and run progress (the Api in the distributed system).</summary>
    Coordination = 8,
    All = QuestionGeneration | Answering | Judging | Coordination,
}

public static class MessagingExtensions
{
    /// <summary>
    /// The one bus configuration every host and test uses: RabbitMQ when a connection string is given
    /// (durable queues and publisher confirms are MassTransit's defaults there), the in-memory transport
    /// otherwise (the CLI's single-process mode and most tests).
    /// </summary>
    public static IServiceCollection AddPersonaGymMessaging(
        this IServiceCollection services,
        PipelineStages stages,
        string? rabbitMqConnectionString,
        Action<IBusRegistrationConfigurator>? configure = null)
    {
        // We send nothing anywhere.
        Environment.SetEnvironmentVariable("MASSTRANSIT_USAGE_TELEMETRY", "false");

        // A started host means a connected bus with its queues bound. Otherwise a process that publishes right after
        // start (the CLI's local mode, a test, the Api on a fresh broker) can publish into an exchange with no queue
        // bound yet, and RabbitMQ drops the message: the run then waits for the sweeper.
        services.AddOptions<MassTransitHostOptions>().Configure(options => options.WaitUntilStarted = true);

        if (!string.IsNullOrWhiteSpace(rabbitMqConnectionString))
        {
            // The stall detector reads the consumer counts of the stages' queues from the same broker.
            var broker = RabbitMqUri(rabbitMqConnectionString);
            services.TryAddSingleton<IStageQueues>(_ => new RabbitMqStageQueues(broker));
            if (stages != PipelineStages.None)
            {
                // So is the watchdog that restarts an endpoint of this process stuck after an outage.
                services.TryAddSingleton(TimeProvider.System);
                services.TryAddSingleton<ReceiveEndpointWatchdog>();
                services.AddHostedService(sp => sp.GetRequiredService<ReceiveEndpointWatchdog>());
            }
        }

        services.AddMassTransit(bus =>
        {
            bus.AddPersonaGymConsumers(stages);
            configure?.Invoke(bus);

            if (string.IsNullOrWhiteSpace(rabbitMqConnectionString))
            {
                bus.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            }
            else
            {
                var uri = RabbitMqUri(rabbitMqConnectionString);
                bus.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(uri);
                    // Every stage's queue exists, bound to its message's exchange, from the first publish on: work
                    // submitted before a worker service has started waits in its queue instead of being dropped.
                    // (RabbitMQ puts one copy in a queue however many bindings lead there, so the consumer's own
                    // exchange-to-exchange binding does not double it.)
                    cfg.Publish<EvaluatePersona>(p => p.BindQueue(p.Exchange.ExchangeName, Endpoints.QuestionGenerator));
                    cfg.Publish<AnswerQuestions>(p => p.BindQueue(p.Exchange.ExchangeName, Endpoints.AgentRunner));
                    cfg.Publish<JudgeAnswers>(p => p.BindQueue(p.Exchange.ExchangeName, Endpoints.Judge));
                    cfg.Publish<BatchJudged>(p => p.BindQueue(p.Exchange.ExchangeName, Endpoints.Progress));
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
        return services;
    }

    /// <summary>Registers the consumers of the given stages, each with its definition (endpoint name, limits, retry).</summary>
    public static void AddPersonaGymConsumers(this IBusRegistrationConfigurator bus, PipelineStages stages)
    {
        if (stages.HasFlag(PipelineStages.QuestionGeneration))
            bus.AddConsumer<QuestionGenerationConsumer, QuestionGenerationConsumerDefinition>();
        if (stages.HasFlag(PipelineStages.Answering))
            bus.AddConsumer<AnswerConsumer, AnswerConsumerDefinition>();
        if (stages.HasFlag(PipelineStages.Judging))
            bus.AddConsumer<JudgeConsumer, JudgeConsumerDefinition>();
        if (stages.HasFlag(PipelineStages.Coordination))
            bus.AddConsumer<RunProgressConsumer, RunProgressConsumerDefinition>();
    }

    /// <summary>Accepts amqp:// and amqps:// URIs (what Aspire hands out) and plain host names.</summary>
    public static Uri RabbitMqUri(string connectionString)
    {
        var text = connectionString.Trim();
        if (!text.Contains("://", StringComparison.Ordinal)) text = "amqp://" + text;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps" && uri.Scheme != "rabbitmq"))
        {
            throw new ArgumentException("The RabbitMQ connection string must be an amqp:// URI, e.g. amqp://guest:guest@localhost:5672/");
        }

        return uri;
    }
}
