using Microsoft.EntityFrameworkCore;
using PersonaGym.Contracts;
using PersonaGym.Data;
using PersonaGym.Pipeline.Messaging;
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

    [Fact]
    public async Task Work_submitted_before_the_worker_services_start_waits_in_their_queues()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var coordinator = await TestPipeline.StartAsync(database,
            new PipelineSetup { RabbitMq = rabbitMq.ConnectionString, Stages = PipelineStages.Coordination });
        var request = TestRuns.Request(batchSize: 2);
        var runId = await coordinator.SubmitAsync(request);

        // Only now do the workers start (as when the Api answers before the worker services are up).
        await using var workers = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString,
            Stages = PipelineStages.QuestionGeneration | PipelineStages.Answering | PipelineStages.Judging,
        });

        Assert.Equal(RunStatus.Completed, await coordinator.WaitForRunAsync(runId));
        Assert.Equal(TestRuns.Expected(request), await coordinator.CountRowsAsync(runId));
    }

    [Fact]
    public async Task A_published_message_reaches_its_stage_queue_once_although_two_bindings_lead_there()
    {
        var database = await postgres.CreateDatabaseAsync();
        // A worker host declares the consumer's own topology, then stops: its queue stays, unconsumed.
        await using (var worker = await TestPipeline.StartAsync(database, new PipelineSetup
                     {
                         RabbitMq = rabbitMq.ConnectionString, Stages = PipelineStages.QuestionGeneration,
                     }))
        {
            await worker.StopAsync();
        }

        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(rabbitMq.ConnectionString) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueuePurgeAsync(Endpoints.QuestionGenerator);

        await using var coordinator = await TestPipeline.StartAsync(database,
            new PipelineSetup { RabbitMq = rabbitMq.ConnectionString, Stages = PipelineStages.Coordination });
        await coordinator.Bus.Publish(new EvaluatePersona { RunId = Guid.NewGuid(), RunPersonaId = Guid.NewGuid() });

        await Wait.UntilAsync(async () => (await channel.QueueDeclarePassiveAsync(Endpoints.QuestionGenerator)).MessageCount > 0, "the message to arrive");
        await Task.Delay(500); // a second copy, if routing made one, would be there by now
        Assert.Equal(1u, (await channel.QueueDeclarePassiveAsync(Endpoints.QuestionGenerator)).MessageCount);
        await channel.QueuePurgeAsync(Endpoints.QuestionGenerator);
    }

    [Fact]
    public async Task An_exemplar_claim_left_by_a_dead_judge_is_taken_over_after_its_lease()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var upstream = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString,
            Stages = PipelineStages.QuestionGeneration | PipelineStages.Answering | PipelineStages.Coordination,
        });
        var request = TestRuns.Request(personas: 1, agents: 2);
        var runId = await upstream.SubmitAsync(request);
        var batches = TestRuns.Expected(request).BatchWork / request.Agents.Count;

        // Every batch answered, then claimed by a judge worker that died before writing (its claim is never renewed).
        await Wait.UntilAsync(async () =>
        {
            await using var db = upstream.NewContext();
            return await db.BatchWork.CountAsync(w => w.RunId == runId && w.Stage == BatchStage.Judging) == batches * request.Agents.Count;
        }, "every batch to be answered");
        await using (var db = upstream.NewContext())
        {
            var run = await db.Runs.SingleAsync(r => r.Id == runId);
            var assets = PersonaGym.Core.MethodAssets.LoadDefault();
            foreach (var batch in await db.BatchWork.Where(w => w.RunId == runId).Select(w => new { w.BatchId, w.Batch.Task }).Distinct().ToListAsync())
            {
                db.ExemplarClaims.Add(new ExemplarClaim
                {
                    BatchId = batch.BatchId, WriterSpec = run.ExemplarWriterSpec,
                    RubricVersion = assets.Rubric(batch.Task).Version, ClaimedAt = DateTimeOffset.UtcNow,
                });
            }

            await db.SaveChangesAsync();
        }

        await using var judges = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString,
            Stages = PipelineStages.Judging,
            Settings = new Dictionary<string, string?> { ["PersonaGym:Pipeline:ExemplarClaimLease"] = "00:00:01" },
        });

        Assert.Equal(RunStatus.Completed, await upstream.WaitForRunAsync(runId));
        // The orphaned claims were taken over: each batch's exemplars written once, for both agents.
        Assert.Equal(batches, (await upstream.CallsByStageAsync(runId))[LlmCallStage.Exemplars]);
        await using var check = upstream.NewContext();
        Assert.Equal(0, await check.ExemplarClaims.CountAsync());
    }
}
