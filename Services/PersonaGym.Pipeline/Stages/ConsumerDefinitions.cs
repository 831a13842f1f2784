using MassTransit;
using Microsoft.Extensions.Options;
using PersonaGym.Contracts;

namespace PersonaGym.Pipeline.Stages;

/// <summary>
/// The endpoint of each stage: a fixed queue name (the Azure scale rule names the judge queue), a concurrency limit
/// from configuration, redelivery with backoff for transient failures, and an in-memory outbox so a message's
/// follow-up publishes leave only once its consumer has finished.
/// </summary>
public abstract class StageDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    private readonly PipelineOptions _options;

    protected StageDefinition(IOptions<PipelineOptions> options, string endpointName, Func<PipelineOptions, int> concurrency)
    {
        _options = options.Value;
        EndpointName = endpointName;
        ConcurrentMessageLimit = concurrency(_options);
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        if (_options.MessageRetries > 0)
        {
            endpointConfigurator.UseMessageRetry(retry => retry.Exponential(
                _options.MessageRetries, _options.MessageRetryDelay, TimeSpan.FromMinutes(2), _options.MessageRetryDelay));
        }

        endpointConfigurator.UseInMemoryOutbox(context);
    }
}

public sealed class QuestionGenerationConsumerDefinition(IOptions<PipelineOptions> options)
    : StageDefinition<QuestionGenerationConsumer>(options, Endpoints.QuestionGenerator, o => o.QuestionGeneratorConcurrency);

public sealed class AnswerConsumerDefinition(IOptions<PipelineOptions> options)
    : StageDefinition<AnswerConsumer>(options, Endpoints.AgentRunner, o => o.AgentRunnerConcurrency);

public sealed class JudgeConsumerDefinition(IOptions<PipelineOptions> options)
    : StageDefinition<JudgeConsumer>(options, Endpoints.Judge, o => o.JudgeConcurrency);

public sealed class RunProgressConsumerDefinition(IOptions<PipelineOptions> options)
    : StageDefinition<RunProgressConsumer>(options, Endpoints.Progress, o => o.JudgeConcurrency);
