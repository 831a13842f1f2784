using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Options;
using PersonaGym.Contracts;
using PersonaGym.Pipeline.Stages;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// The stages' queue names are part of the deployment: the Azure scale rule names the judge queue, and the hosts of
/// different versions must meet on the same queues. They are pinned here as literals.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class EndpointNameTests(PostgresServer postgres)
{
    private static readonly IOptions<PipelineOptions> Defaults = Options.Create(new PipelineOptions());

    [Fact]
    public void The_consumer_definitions_name_the_fixed_queues()
    {
        var formatter = DefaultEndpointNameFormatter.Instance;
        Assert.Equal("question-generator", ((IConsumerDefinition)new QuestionGenerationConsumerDefinition(Defaults)).GetEndpointName(formatter));
        Assert.Equal("agent-runner", ((IConsumerDefinition)new AnswerConsumerDefinition(Defaults)).GetEndpointName(formatter));
        Assert.Equal("judge", ((IConsumerDefinition)new JudgeConsumerDefinition(Defaults)).GetEndpointName(formatter));
    }

    [Fact]
    public async Task The_registered_consumers_receive_from_the_fixed_queues()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { TestHarness = true });
        Guid run = Guid.NewGuid(), persona = Guid.NewGuid(), batch = Guid.NewGuid(), agent = Guid.NewGuid();

        await SendAsync(pipeline, "question-generator", new EvaluatePersona { RunId = run, RunPersonaId = persona });
        await SendAsync(pipeline, "agent-runner", new AnswerQuestions { RunId = run, RunPersonaId = persona, BatchId = batch, AgentId = agent });
        await SendAsync(pipeline, "judge", new JudgeAnswers { RunId = run, RunPersonaId = persona, BatchId = batch, AgentId = agent });

        await WaitForConsumedAsync<QuestionGenerationConsumer, EvaluatePersona>(pipeline);
        await WaitForConsumedAsync<AnswerConsumer, AnswerQuestions>(pipeline);
        await WaitForConsumedAsync<JudgeConsumer, JudgeAnswers>(pipeline);
    }

    private static async Task SendAsync<T>(TestPipeline pipeline, string queue, T message)
        where T : class
    {
        var endpoint = await pipeline.Bus.GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(message);
    }

    private static Task WaitForConsumedAsync<TConsumer, TMessage>(TestPipeline pipeline)
        where TConsumer : class, IConsumer
        where TMessage : class
    {
        var consumer = pipeline.Harness.GetConsumerHarness<TConsumer>();
        return Wait.UntilAsync(() => Task.FromResult(consumer.Consumed.Select<TMessage>().Any()), $"{typeof(TConsumer).Name} to receive from its queue");
    }
}
