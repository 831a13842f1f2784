using MassTransit;
using MassTransit.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Models;
using PersonaGym.Pipeline.Messaging;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Pipeline.Tests.Support;

/// <summary>How a test's process is put together.</summary>
public sealed record PipelineSetup
{
    public PipelineStages Stages { get; init; } = PipelineStages.All;

    /// <summary>Host the bus under MassTransit's test harness (in-memory, with consumed/published message lists).</summary>
    public bool TestHarness { get; init; }

    /// <summary>Extra bus configuration under the test harness (e.g. a publish filter).</summary>
    public Action<IBusRegistrationConfigurator>? ConfigureHarness { get; init; }


    /// <summary>RabbitMQ instead of the in-memory transport.</summary>
    public string? RabbitMq { get; init; }

    public ModelCalls Models { get; init; } = new();

    /// <summary>Settings of section PersonaGym:Pipeline (and others) on top of the test defaults.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    public Action<IServiceCollection>? ConfigureServices { get; init; }
}

/// <summary>
/// One PersonaGym process for a test: a host with the data layer on the test's database, the pipeline's stages, the
/// offline models behind <see cref="ModelCalls"/>, and the bus (in-memory, test harness or RabbitMQ).
/// </summary>
public sealed class TestPipeline : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _stopped;

    private TestPipeline(IHost host, DatabaseConnection connection, ModelCalls models)
    {
        _host = host;
        Connection = connection;
        Models = models;
    }

    public DatabaseConnection Connection { get; }

    public ModelCalls Models { get; }

    public IServiceProvider Services => _host.Services;

    public IBus Bus => Services.GetRequiredService<IBus>();

    public ITestHarness Harness => Services.GetRequiredService<ITestHarness>();

    public RunSubmitter Submitter => Services.GetRequiredService<RunSubmitter>();

    public static async Task<TestPipeline> StartAsync(string connectionString, PipelineSetup? setup = null)
    {
        setup ??= new PipelineSetup();
        // A bounded pool per process, emptied when it stops: many test databases share one server's connection limit.
        var connection = DatabaseConnection.Parse(new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 20 }.ConnectionString);
        await PersonaGymDatabase.MigrateAsync(connection);

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var settings = new Dictionary<string, string?>
        {
            // Redeliveries come quickly in tests; the sweeper is off unless a test turns it on.
            ["PersonaGym:Pipeline:MessageRetries"] = "2",
            ["PersonaGym:Pipeline:MessageRetryDelay"] = "00:00:00.020",
            ["PersonaGym:Pipeline:SweepInterval"] = "00:00:00",
            ["PersonaGym:Models:BaseDelay"] = "00:00:00.010",
        };
        foreach (var (key, value) in setup.Settings) settings[key] = value;
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        builder.Services.AddPersonaGymData(connection);
        builder.Services.AddSingleton(new ModelClientFactory(builder.Configuration, setup.Models.Create));
        builder.Services.AddPersonaGymPipeline(builder.Configuration, setup.Stages, setup.RabbitMq);
        if (setup.TestHarness)
        {
            builder.Services.AddMassTransitTestHarness(bus =>
            {
                bus.SetTestTimeouts(testTimeout: TimeSpan.FromMinutes(1));
                setup.ConfigureHarness?.Invoke(bus);
            });
        }

        setup.ConfigureServices?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        if (setup.TestHarness) await host.Services.GetRequiredService<ITestHarness>().Start();
        return new TestPipeline(host, connection, setup.Models);
    }

    public PersonaGymDbContext NewContext() => PersonaGymDatabase.CreateDbContext(Connection);

    /// <summary>Plans, stores and starts a run, as the CLI and the Api do.</summary>
    public async Task<Guid> SubmitAsync(RunRequest request)
    {
        var plan = await Submitter.PlanAsync(request);
        var runId = await Submitter.CreateAsync(plan);
        await Submitter.StartAsync(runId, Bus);
        return runId;
    }

    public Task<int> ResumeAsync(Guid runId, long? maxCalls = null) => Submitter.ResumeAsync(runId, Bus, maxCalls, maxTokens: null);

    public async Task<RunStatus> StatusAsync(Guid runId)
    {
        await using var db = NewContext();
        return await db.Runs.Where(r => r.Id == runId).Select(r => r.Status).SingleAsync();
    }

    /// <summary>Waits until the run reaches one of <paramref name="statuses"/> (default: either kind of completion).</summary>
    public async Task<RunStatus> WaitForRunAsync(Guid runId, params RunStatus[] statuses)
    {
        if (statuses.Length == 0) statuses = [RunStatus.Completed, RunStatus.CompletedWithFailures];
        var status = RunStatus.Pending;
        await Wait.UntilAsync(
            async () =>
            {
                status = await StatusAsync(runId);
                return Array.IndexOf(statuses, status) >= 0;
            },
            async () => $"run {runId} to reach {string.Join(" or ", statuses)}; it stands at: {await DescribeAsync(runId)}",
            TimeSpan.FromSeconds(30));
        return status;
    }

    /// <summary>Where a run stands, for the message of a failed wait.</summary>
    public async Task<string> DescribeAsync(Guid runId)
    {
        await using var db = NewContext();
        var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId);
        var personas = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == runId).Select(p => p.Status + (p.Error == null ? "" : " (" + p.Error + ")")).ToListAsync();
        var work = await db.BatchWork.AsNoTracking().Where(w => w.RunId == runId).Select(w => w.Stage + (w.Error == null ? "" : " (" + w.Error + ")")).ToListAsync();
        // The bus's own view too: a run that waits on a receive endpoint that stopped consuming says so.
        var endpoints = Services.GetService<IBusControl>()?.CheckHealth().Endpoints.Values
            .Select(e => $"{ReceiveEndpointWatchdog.QueueOf(e.InputAddress)} {e.Status} ({e.Description})");
        return $"{run.Status} {run.Error}; personas: {string.Join(", ", personas)}; batches: "
            + string.Join(", ", work.GroupBy(w => w).Select(g => $"{g.Count()}× {g.Key}"))
            + (endpoints is null ? "" : "; endpoints: " + string.Join(", ", endpoints));
    }

    public async Task<RowCounts> CountRowsAsync(Guid runId)
    {
        await using var db = NewContext();
        var setId = await db.Runs.Where(r => r.Id == runId).Select(r => r.QuestionSetId).SingleAsync();
        var questions = await db.Questions.CountAsync(q => q.QuestionSetPersona.QuestionSetId == setId);
        var exemplars = await db.Exemplars.CountAsync(e => e.Question.QuestionSetPersona.QuestionSetId == setId);
        return new RowCounts(
            questions,
            await db.Answers.CountAsync(a => a.RunId == runId),
            exemplars,
            await db.Judgements.CountAsync(j => j.RunId == runId),
            await db.BatchWork.CountAsync(w => w.RunId == runId));
    }

    /// <summary>Every LLM call recorded for the run (cache hits included) per stage.</summary>
    public async Task<Dictionary<LlmCallStage, int>> CallsByStageAsync(Guid runId)
    {
        await using var db = NewContext();
        var rows = await db.LlmCalls.Where(c => c.RunId == runId).GroupBy(c => c.Stage).Select(g => new { g.Key, Count = g.Count() }).ToListAsync();
        return rows.ToDictionary(r => r.Key, r => r.Count);
    }

    /// <summary>LLM calls that cost something: recorded calls that were not answered from the response cache.</summary>
    public async Task<int> PaidCallsAsync(Guid runId)
    {
        await using var db = NewContext();
        return await db.LlmCalls.CountAsync(c => c.RunId == runId && !c.CacheHit);
    }

    /// <summary>Stops the process the way a shutdown does: the bus stops, in-flight work is cancelled, queued messages are lost.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _host.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
            // The host's 30 s shutdown ran out (CI saw it once, for the bus of a process whose broker had just been
            // killed and started again). What the test checks has been checked by now, and a consumer cut short here
            // leaves its message unacknowledged, to be delivered again: a slow stop is no wrong result. The host is
            // disposed all the same, so nothing of it outlives the test.
            await Console.Error.WriteLineAsync("A test's pipeline host did not stop within its shutdown timeout; it is disposed anyway.");
        }
        if (_host is IAsyncDisposable disposable) await disposable.DisposeAsync();
        else _host.Dispose();
        await using var connection = new NpgsqlConnection(Connection.ConnectionString);
        NpgsqlConnection.ClearPool(connection);
    }
}

public sealed record RowCounts(int Questions, int Answers, int Exemplars, int Judgements, int BatchWork);
