extern alias judge;

using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>
/// A judge worker, hosted in process from its own <c>Program</c> (the service defaults, its stage on RabbitMQ, its
/// database), on a PostgreSQL and a RabbitMQ of its own, so that stopping them disturbs no other test.
/// </summary>
public sealed class JudgeWorkerHost : IAsyncLifetime
{
    private WebApplicationFactory<judge::Program>? _judge;

    public PostgresServer Postgres { get; } = new();

    public RabbitMqServer Broker { get; } = new();

    public WebApplicationFactory<judge::Program> Judge => _judge ?? throw new InvalidOperationException("Not initialised.");

    public async Task InitializeAsync()
    {
        await Task.WhenAll(Postgres.InitializeAsync(), Broker.InitializeAsync());
        // The migration step (or the Api) makes the schema before a worker starts; here, the test does.
        var database = await Postgres.CreateDatabaseAsync();
        await PersonaGymDatabase.MigrateAsync(new DatabaseConnection(DatabaseProvider.Postgres, database));
        _judge = new WebApplicationFactory<judge::Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting($"ConnectionStrings:{StageHostingExtensions.DatabaseConnectionName}", database);
            web.UseSetting($"ConnectionStrings:{StageHostingExtensions.RabbitMqConnectionName}", Broker.ConnectionString);
        });
        _ = _judge.Server;
    }

    public async Task DisposeAsync()
    {
        if (_judge is not null) await _judge.DisposeAsync();
        await Broker.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}

/// <summary>
/// A worker's <c>/health</c> (what the platform's readiness probe asks) says when its broker or its database is gone,
/// and recovers when they are back; the Api's own is tested in <see cref="OutageTests"/>.
/// </summary>
public sealed class WorkerHealthTests(JudgeWorkerHost host) : IClassFixture<JudgeWorkerHost>
{
    /// <summary>Long enough for a check's 5 s timeout and a client's reconnection on a busy machine; not a speed bound.</summary>
    private static readonly TimeSpan Within = TimeSpan.FromMinutes(1);

    [Fact]
    public Task A_judge_is_unhealthy_while_its_broker_is_down_and_healthy_again_when_it_is_back() =>
        UnhealthyWhileDownAsync("broker", host.Broker.StopAsync, host.Broker.StartAsync);

    [Fact]
    public Task A_judge_is_unhealthy_while_its_database_is_down_and_healthy_again_when_it_is_back() =>
        UnhealthyWhileDownAsync("database", host.Postgres.StopAsync, host.Postgres.StartAsync);

    /// <summary>Healthy, then unhealthy (yet alive) while <paramref name="server"/> is stopped, then healthy again once it is started.</summary>
    private async Task UnhealthyWhileDownAsync(string server, Func<Task> stop, Func<Task> start)
    {
        await UntilHealthAsync(HttpStatusCode.OK, "healthy at start");

        await stop();
        try
        {
            await UntilHealthAsync(HttpStatusCode.ServiceUnavailable, $"unhealthy without its {server}");
            Assert.Equal(HttpStatusCode.OK, await StatusOfAsync("/alive"));
        }
        finally
        {
            await start();
        }

        await UntilHealthAsync(HttpStatusCode.OK, $"healthy again with its {server} back");
    }

    private async Task<HttpStatusCode> StatusOfAsync(string path)
    {
        // A probe: no credentials, and an answer well within a probe's patience (every check times out after 5 s).
        using var probe = host.Judge.CreateClient();
        probe.Timeout = TimeSpan.FromSeconds(30);
        using var response = await probe.GetAsync(path);
        return response.StatusCode;
    }

    private async Task UntilHealthAsync(HttpStatusCode expected, string what)
    {
        var clock = Stopwatch.StartNew();
        var last = (HttpStatusCode)0;
        while ((last = await StatusOfAsync("/health")) != expected)
        {
            Assert.True(clock.Elapsed < Within, $"The judge's /health was not {what} ({expected}) within {Within}: still {last}.");
            await Task.Delay(200);
        }
    }
}
