using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Contracts;
using PersonaGym.Core.Offline;
using PersonaGym.Data;
using PersonaGym.Pipeline.Messaging;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// A run that cannot progress says why within a minute (here within seconds: the check runs every second), and the
/// run goes on when the cause goes away: a stage without a consumer, the broker stopped and started again, the
/// database stopped and started again. The servers are the collection's own real PostgreSQL and RabbitMQ, stopped
/// and started by the test (tests of one collection run one at a time).
/// </summary>
[Collection(PostgresAndRabbitMqCollection.Name)]
public sealed class SelfHealingTests(PostgresServer postgres, RabbitMqServer rabbitMq)
{
    /// <summary>"Within a minute", the promise: every wait for a report below is bounded by it.</summary>
    private static readonly TimeSpan ReportedWithin = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(90);

    private static Dictionary<string, string?> FastChecks() => new()
    {
        ["PersonaGym:Pipeline:StallCheckInterval"] = "00:00:01",
        // Redeliveries that fail against a stopped server end in the error queue quickly; the outage's end re-publishes.
        ["PersonaGym:Pipeline:MessageRetries"] = "1",
        // An endpoint left faulted by the outage (MassTransit issues #2072, #5942) is restarted well within Recovery.
        ["PersonaGym:Pipeline:EndpointRecoveryTimeout"] = "00:00:10",
    };

    [Fact]
    public async Task A_stage_without_a_consumer_is_reported_on_the_run_and_the_report_clears_when_its_worker_starts()
    {
        var database = await postgres.CreateDatabaseAsync();
        // Every agent-runner is gone: questions are written and judges are there, but nothing answers.
        await using var upstream = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString,
            Stages = PipelineStages.Coordination | PipelineStages.QuestionGeneration | PipelineStages.Judging,
            Settings = FastChecks(),
        });
        var request = TestRuns.Request(batchSize: 2);
        var runId = await upstream.SubmitAsync(request);

        var stall = await WaitForStallAsync(upstream, runId, "no consumer on queue 'agent-runner'");
        Assert.Contains("batch(es) wait there", stall.Reason);
        await using (var db = upstream.NewContext())
        {
            var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId);
            Assert.Equal(RunStatus.Running, run.Status);
            Assert.Contains(await RunReportBuilder.ProblemsAsync(db, run, CancellationToken.None),
                p => p.StartsWith("Run cannot progress since", StringComparison.Ordinal) && p.Contains("'agent-runner'", StringComparison.Ordinal));
        }

        // An agent-runner starts again: the report clears while the run is still going, and the run completes exactly.
        // (Its answers take a while, so the run is still going when the next check looks.)
        await using var agentRunner = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString, Stages = PipelineStages.Answering, Models = SlowAgents(TimeSpan.FromMilliseconds(500)),
        });
        Run? cleared = null;
        await Wait.UntilAsync(async () =>
        {
            await using var db = upstream.NewContext();
            cleared = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId);
            return cleared.Stall is null;
        }, "the report to clear", ReportedWithin);
        Assert.Equal(RunStatus.Running, cleared!.Status);
        Assert.Equal(RunStatus.Completed, await WaitForRunAsync(upstream, runId));
        Assert.Equal(TestRuns.Expected(request), await upstream.CountRowsAsync(runId));
        await TestRuns.AssertScoresMatchJudgementsAsync(upstream, runId, expectedScores: request.Agents.Count * request.Personas.Count);
        Assert.Null(await StallAsync(upstream, runId));
    }

    [Fact]
    public async Task A_queue_is_reported_without_a_consumer_only_once_it_has_had_none_for_the_grace_period()
    {
        // Workers starting up (or restarted after a crash) connect within seconds: a report before that is a false alarm.
        var grace = TimeSpan.FromSeconds(12);
        var database = await postgres.CreateDatabaseAsync();
        var started = DateTimeOffset.UtcNow;
        var settings = FastChecks();
        settings["PersonaGym:Pipeline:NoConsumerGrace"] = grace.ToString();
        await using var upstream = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString,
            Stages = PipelineStages.Coordination | PipelineStages.QuestionGeneration | PipelineStages.Judging,
            Settings = settings,
        });
        var runId = await upstream.SubmitAsync(TestRuns.Request(batchSize: 2));

        var stall = await WaitForStallAsync(upstream, runId, "no consumer on queue 'agent-runner'");

        // The detector cannot have seen the queue before this process started, and it checks every second.
        Assert.True(stall.Since - started >= grace, $"reported {stall.Since - started} after the start, within the grace of {grace}");
    }

    [Fact]
    public async Task A_broker_stopped_mid_run_is_reported_with_the_reason_and_the_run_completes_exactly_when_it_is_back()
    {
        var database = await postgres.CreateDatabaseAsync();
        var models = SlowAgents(TimeSpan.FromMilliseconds(200));
        await using var pipeline = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString, Settings = FastChecks(), Models = models,
        });
        var request = TestRuns.Request(batchSize: 2);
        var runId = await pipeline.SubmitAsync(request);
        await WaitForSomeAnswersAsync(pipeline, runId);

        await rabbitMq.StopAsync();
        try
        {
            var stall = await WaitForStallAsync(pipeline, runId, "the message broker is unreachable");
            Assert.Contains("no work moves until it is back", stall.Reason);
            Assert.NotNull(pipeline.Services.GetRequiredService<PipelineConditions>().Broker);
        }
        finally
        {
            await rabbitMq.StartAsync();
        }

        Assert.Equal(RunStatus.Completed, await WaitForRunAsync(pipeline, runId));
        Assert.Equal(TestRuns.Expected(request), await pipeline.CountRowsAsync(runId));
        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, runId, expectedScores: request.Agents.Count * request.Personas.Count);
        Assert.Null(await StallAsync(pipeline, runId));
        Assert.Null(pipeline.Services.GetRequiredService<PipelineConditions>().Broker);
    }

    [Fact]
    public async Task A_receive_endpoint_that_stops_consuming_while_the_broker_answers_is_restarted_and_the_run_completes()
    {
        var database = await postgres.CreateDatabaseAsync();
        var settings = FastChecks();
        settings["PersonaGym:Pipeline:EndpointRecoveryTimeout"] = "00:00:03";
        await using var pipeline = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString, Settings = settings,
        });
        var watchdog = pipeline.Services.GetRequiredService<ReceiveEndpointWatchdog>();
        var bus = pipeline.Services.GetRequiredService<IBusControl>();
        var agentRunner = bus.CheckHealth().Endpoints.Values
            .Single(e => ReceiveEndpointWatchdog.QueueOf(e.InputAddress) == Endpoints.AgentRunner).ReceiveEndpoint;

        // What MassTransit's fault leaves behind: an endpoint that takes nothing from its queue while the broker is
        // fine and the process is alive. Without the watchdog the run's batches would wait there for good.
        await agentRunner.Stop(CancellationToken.None);
        var request = TestRuns.Request(batchSize: 2);
        var runId = await pipeline.SubmitAsync(request);

        Assert.Equal(RunStatus.Completed, await WaitForRunAsync(pipeline, runId));
        Assert.True(watchdog.Restarts >= 1, "the watchdog restarted no endpoint");
        Assert.Equal(TestRuns.Expected(request), await pipeline.CountRowsAsync(runId));
        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, runId, expectedScores: request.Agents.Count * request.Personas.Count);
    }

    [Fact]
    public async Task A_database_stopped_mid_run_is_noticed_and_the_run_completes_exactly_when_it_is_back()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var pipeline = await TestPipeline.StartAsync(database, new PipelineSetup
        {
            RabbitMq = rabbitMq.ConnectionString, Settings = FastChecks(), Models = SlowAgents(TimeSpan.FromMilliseconds(200)),
        });
        var conditions = pipeline.Services.GetRequiredService<PipelineConditions>();
        var request = TestRuns.Request(batchSize: 2);
        var runId = await pipeline.SubmitAsync(request);
        await WaitForSomeAnswersAsync(pipeline, runId);

        await postgres.StopAsync();
        try
        {
            await Wait.UntilAsync(() => Task.FromResult(conditions.Database is not null), "the database outage to be noticed", ReportedWithin);
            Assert.Contains("database", conditions.Database!.Reason);
        }
        finally
        {
            await postgres.StartAsync();
        }

        Assert.Equal(RunStatus.Completed, await WaitForRunAsync(pipeline, runId));
        // A check that began while the server was down may end, timed out, after the run completed; the next check
        // (every second here) clears what it reported.
        await Wait.UntilAsync(() => Task.FromResult(conditions.Database is null), "the database outage to be cleared", ReportedWithin);
        Assert.Equal(TestRuns.Expected(request), await pipeline.CountRowsAsync(runId));
        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, runId, expectedScores: request.Agents.Count * request.Personas.Count);
    }

    /// <summary>Agents that take a while per answer, so a fault lands mid-run.</summary>
    private static ModelCalls SlowAgents(TimeSpan delay)
    {
        var models = new ModelCalls();
        foreach (var name in new[] { "agent-a", "agent-b" })
            models.With(name, () => new DelayedChatClient(new OfflineChatClient(name), delay));
        return models;
    }

    private static Task WaitForSomeAnswersAsync(TestPipeline pipeline, Guid runId) =>
        Wait.UntilAsync(async () =>
        {
            await using var db = pipeline.NewContext();
            return await db.Answers.AnyAsync(a => a.RunId == runId);
        }, "the first answers");

    private static async Task<RunStatus> WaitForRunAsync(TestPipeline pipeline, Guid runId)
    {
        await Wait.UntilAsync(async () => await TryStatusAsync(pipeline, runId) is RunStatus.Completed or RunStatus.CompletedWithFailures,
            async () => $"run {runId} to complete; it stands at: {await pipeline.DescribeAsync(runId)}", Recovery);
        return await pipeline.StatusAsync(runId);
    }

    /// <summary>The run's status, or null while the database does not answer (its connections are being re-made).</summary>
    private static async Task<RunStatus?> TryStatusAsync(TestPipeline pipeline, Guid runId)
    {
        try
        {
            return await pipeline.StatusAsync(runId);
        }
        catch (Exception e) when (DbExceptions.IsUnavailable(e) || e is InvalidOperationException)
        {
            return null;
        }
    }

    private static async Task<RunStallInfo> WaitForStallAsync(TestPipeline pipeline, Guid runId, string reason)
    {
        RunStallInfo? stall = null;
        await Wait.UntilAsync(async () => (stall = await StallAsync(pipeline, runId))?.Reason.Contains(reason, StringComparison.Ordinal) == true,
            async () => $"the run to be reported with \"{reason}\"; it stands at: {await pipeline.DescribeAsync(runId)}; stall: {stall?.Reason ?? "none"}",
            ReportedWithin);
        return stall!;
    }

    private static async Task<RunStallInfo?> StallAsync(TestPipeline pipeline, Guid runId)
    {
        await using var db = pipeline.NewContext();
        return (await db.RunSummaryAsync(runId))!.Stalled;
    }
}

/// <summary>A model that takes <paramref name="delay"/> per call: slow enough for a fault to land mid-run.</summary>
public sealed class DelayedChatClient(IChatClient inner, TimeSpan delay) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        await Task.Delay(delay, cancellationToken);
        return await base.GetResponseAsync(messages, options, cancellationToken);
    }
}
