using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Messaging;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>
/// The Api as the distributed system runs it: coordination only, on a real RabbitMQ of its own, with the three worker
/// stages in a second process. The stall check runs every second, so "within a minute" is seen within seconds.
/// </summary>
public sealed class OutageApiHost(PostgresServer postgres) : ApiHost(postgres)
{
    private IHost? _workers;

    public RabbitMqServer Broker { get; } = new();

    public PostgresServer Postgres { get; } = postgres;

    public PipelineConditions Conditions => Factory.Services.GetRequiredService<PipelineConditions>();

    public override async Task InitializeAsync()
    {
        await Broker.InitializeAsync();
        await base.InitializeAsync();

        var workers = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        workers.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PersonaGym:Pipeline:MessageRetries"] = "1",
            ["PersonaGym:Pipeline:MessageRetryDelay"] = "00:00:00.050",
        });
        workers.Logging.SetMinimumLevel(LogLevel.Warning);
        workers.Services.AddPersonaGymData(new DatabaseConnection(DatabaseProvider.Postgres, ConnectionString));
        workers.Services.AddPersonaGymPipeline(workers.Configuration,
            PipelineStages.QuestionGeneration | PipelineStages.Answering | PipelineStages.Judging, Broker.ConnectionString);
        _workers = workers.Build();
        await _workers.StartAsync();
    }

    protected override void Configure(IWebHostBuilder web)
    {
        web.UseSetting(StageHostingExtensions.InMemoryMessagingKey, "false");
        web.UseSetting($"ConnectionStrings:{StageHostingExtensions.RabbitMqConnectionName}", Broker.ConnectionString);
        web.UseSetting("PersonaGym:Pipeline:StallCheckInterval", "00:00:01");
        web.UseSetting("PersonaGym:Pipeline:MessageRetries", "1");
    }

    public override async Task DisposeAsync()
    {
        if (_workers is not null)
        {
            await _workers.StopAsync();
            _workers.Dispose();
        }

        await base.DisposeAsync();
        await Broker.DisposeAsync();
    }
}

[Collection(PostgresServer.Collection)]
public sealed class OutageTests(OutageApiHost host) : IClassFixture<OutageApiHost>
{
    /// <summary>An answer that takes longer than this is a hang, not an answer.</summary>
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(8);

    private static readonly TimeSpan ReportedWithin = TimeSpan.FromMinutes(1);

    /// <summary>A health probe: no credentials, as platform probes send none.</summary>
    private HttpClient Probe()
    {
        var probe = host.AnonymousClient();
        probe.Timeout = AnswerWithin;
        return probe;
    }

    private HttpClient Client()
    {
        var client = host.Client();
        client.Timeout = AnswerWithin;
        return client;
    }

    [Fact]
    public async Task While_the_database_is_down_health_is_unhealthy_and_the_Api_answers_503_with_the_reason_and_both_recover()
    {
        var client = Client();
        var submitted = await client.PostAsJsonAsync("/api/runs", Requests.SmallOfflineRun("before the outage"), PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var location = submitted.Headers.Location!.OriginalString;
        Assert.Equal(RunStatus.Completed, (await host.WaitUntilSettledAsync(client, location)).Summary.Status);

        await host.Postgres.StopAsync();
        try
        {
            await UntilAsync(async () => (await Probe().GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable, "/health to turn unhealthy");
            await UntilAsync(() => Task.FromResult(host.Conditions.Database is not null), "the outage to be noticed");

            var answer = await client.GetAsync(location);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            Assert.NotNull(answer.Headers.RetryAfter);
            var problem = await answer.Content.ReadFromJsonAsync<ProblemDetails>();
            Assert.Equal("The database is unreachable", problem!.Title);
            Assert.Contains("continue when it is back", problem.Detail);
            // A submission is refused the same way, at once, and stores nothing (checked below).
            var refused = await client.PostAsJsonAsync("/api/runs", Requests.SmallOfflineRun("during the outage"), PersonaGymJson.Options);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }
        finally
        {
            await host.Postgres.StartAsync();
        }

        await UntilAsync(async () => (await Probe().GetAsync("/health")).StatusCode == HttpStatusCode.OK, "/health to recover");
        await UntilAsync(async () => (await client.GetAsync(location)).StatusCode == HttpStatusCode.OK, "the Api to answer again");
        await using var db = host.Database();
        Assert.False(await db.Runs.AnyAsync(r => r.Name == "during the outage"));
    }

    [Fact]
    public async Task The_CLI_client_waits_out_the_database_outage_503_and_its_submission_is_stored_once_when_the_database_is_back()
    {
        var log = new StringWriter();
        var client = new PersonaGym.Cli.Remote.ServerClient(host.Client(), TextWriter.Synchronized(log));
        await host.Postgres.StopAsync();
        Task<RunAccepted> submission;
        try
        {
            await UntilAsync(() => Task.FromResult(host.Conditions.Database is not null), "the outage to be noticed");
            submission = client.SubmitAsync(Requests.SmallOfflineRun("submitted through the outage"), CancellationToken.None);
            // The client is told to wait (503 with Retry-After) and keeps asking while the database is down.
            await UntilAsync(() => Task.FromResult(log.ToString().Contains("asking again", StringComparison.Ordinal)), "the client to wait out a 503");
            Assert.False(submission.IsCompleted);
        }
        finally
        {
            await host.Postgres.StartAsync();
        }

        var accepted = await submission.WaitAsync(TimeSpan.FromSeconds(45));
        await using var db = host.Database();
        Assert.Equal(accepted.Id, Assert.Single(await db.Runs.Where(r => r.Name == "submitted through the outage").Select(r => r.Id).ToListAsync()));
    }

    [Fact]
    public async Task A_submission_while_the_broker_is_down_is_stored_at_once_reported_and_runs_to_completion_when_it_is_back()
    {
        var client = Client();
        await host.Broker.StopAsync();
        RunAccepted? accepted;
        string location;
        try
        {
            await UntilAsync(() => Task.FromResult(host.Conditions.Broker is not null), "the broker outage to be noticed");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Probe().GetAsync("/health")).StatusCode);

            var response = await client.PostAsJsonAsync("/api/runs", Requests.SmallOfflineRun("while the broker is down", agent: "offline:agent-broker"), PersonaGymJson.Options);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            accepted = await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options);
            Assert.Contains(accepted!.Warnings!, w => w.Contains("broker", StringComparison.Ordinal) && w.Contains("starts when it is back", StringComparison.Ordinal));
            location = response.Headers.Location!.OriginalString;

            // The stored run is reported with the reason, not silently Running.
            RunDetails? details = null;
            await UntilAsync(async () =>
            {
                details = await client.GetFromJsonAsync<RunDetails>(location, PersonaGymJson.Options);
                return details!.Summary.Stalled is not null;
            }, "the run to be reported as unable to progress");
            Assert.Equal(RunStatus.Running, details!.Summary.Status);
            Assert.Contains("broker", details.Summary.Stalled!.Reason);
            Assert.Contains(details.Problems, p => p.StartsWith("Run cannot progress", StringComparison.Ordinal));

            // Nothing moves while the broker is down, and the progress stream still pushes a snapshot every second
            // (the web app promises one at least every 2 s), each with the reason the run cannot progress.
            var stream = await ProgressForAsync(client, accepted.Id, TimeSpan.FromSeconds(6));
            Assert.True(stream.Count >= 4, $"{stream.Count} progress events in 6 s of a stalled run");
            Assert.All(stream, s => Assert.False(s.Settled));
            Assert.All(stream, s => Assert.Contains("broker", s.Summary.Stalled?.Reason ?? ""));
            for (var i = 1; i < stream.Count; i++) Assert.True(stream[i].At > stream[i - 1].At);
        }
        finally
        {
            await host.Broker.StartAsync();
        }

        var settled = await host.WaitUntilSettledAsync(client, location, TimeSpan.FromSeconds(90));
        Assert.Equal(RunStatus.Completed, settled.Summary.Status);
        Assert.Null(settled.Summary.Stalled);
        Assert.Empty(settled.Problems);
        await using var db = host.Database();
        // 3 personas × 5 tasks × 2 questions, one agent, two judges: every piece stored once.
        Assert.Equal(30, await db.Answers.CountAsync(a => a.RunId == accepted.Id));
        Assert.Equal(60, await db.Judgements.CountAsync(j => j.RunId == accepted.Id));
    }

    /// <summary>The progress events of a run's stream for <paramref name="duration"/>, then the stream is left.</summary>
    private static async Task<List<RunProgressSnapshot>> ProgressForAsync(HttpClient client, Guid runId, TimeSpan duration)
    {
        var snapshots = new List<RunProgressSnapshot>();
        using var stop = new CancellationTokenSource(duration);
        try
        {
            using var response = await client.GetAsync($"/api/runs/{runId}/progress", HttpCompletionOption.ResponseHeadersRead, stop.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync(stop.Token);
            await foreach (var item in SseParser.Create(body, (type, data) => type == "progress"
                               ? JsonSerializer.Deserialize<RunProgressSnapshot>(data, PersonaGymJson.Options)
                               : null).EnumerateAsync(stop.Token))
            {
                if (item.Data is { } snapshot) snapshots.Add(snapshot);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The window is over: what arrived is the answer.
        }

        return snapshots;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (HttpRequestException)
            {
                // The Api's connection to a restarted server is being made again: ask again.
            }

            if (clock.Elapsed > ReportedWithin) throw new TimeoutException($"Waited {ReportedWithin} for {what}.");
            await Task.Delay(200);
        }
    }
}
