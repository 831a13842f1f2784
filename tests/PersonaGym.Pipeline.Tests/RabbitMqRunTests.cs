using PersonaGym.Data;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>The whole run over a real RabbitMQ broker, as the distributed deployment runs it (durable queues, publisher confirms).</summary>
[Collection(PostgresAndRabbitMqCollection.Name)]
public sealed class RabbitMqRunTests(PostgresServer postgres, RabbitMqServer rabbitMq)
{
    [Fact]
    public async Task A_run_over_RabbitMQ_completes_with_every_piece_of_work_stored_once_and_matching_scores()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(),
            new PipelineSetup { RabbitMq = rabbitMq.ConnectionString });
        var request = TestRuns.Request(batchSize: 2);

        var runId = await pipeline.SubmitAsync(request);

        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(runId));
        Assert.Equal(TestRuns.Expected(request), await pipeline.CountRowsAsync(runId));
        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, runId, expectedScores: request.Agents.Count * request.Personas.Count);
    }
}
