using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

[CollectionDefinition(PostgresServer.Collection)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;

/// <summary>
/// The real Api over a fresh PostgreSQL database (one per test class), with the bus on MassTransit's in-memory
/// transport, where the Api hosts every stage itself: a submitted run really runs, with the offline models.
/// </summary>
public sealed class ApiHost(PostgresServer postgres) : IAsyncLifetime
{
    private WebApplicationFactory<Program>? _factory;

    public string ConnectionString { get; private set; } = "";

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("Not initialised.");

    public async Task InitializeAsync()
    {
        ConnectionString = await postgres.CreateDatabaseAsync();
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting($"ConnectionStrings:{StageHostingExtensions.DatabaseConnectionName}", ConnectionString);
            web.UseSetting(StageHostingExtensions.InMemoryMessagingKey, "true");
            // A run that stops on its budget is resumed by the test, not by the sweeper.
            web.UseSetting("PersonaGym:Pipeline:SweepInterval", "00:00:00");
        });
        // Starts the server (and applies the migrations) now, not inside the first test.
        _ = _factory.Server;
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
    }

    public HttpClient Client() => Factory.CreateClient();

    public PersonaGymDbContext Database() =>
        PersonaGymDatabase.CreateDbContext(new DatabaseConnection(DatabaseProvider.Postgres, ConnectionString));

    /// <summary>Polls the run until it leaves Pending/Running (no fixed sleeps: it returns as soon as the run settles).</summary>
    public async Task<RunDetails> WaitUntilSettledAsync(HttpClient client, string location, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        while (true)
        {
            var details = await client.GetFromJsonAsync<RunDetails>(location, PersonaGymJson.Options, cancel.Token);
            if (details!.Summary.Status is not (RunStatus.Pending or RunStatus.Running)) return details;
            await Task.Delay(100, cancel.Token);
        }
    }

    public async Task<int> RunCountAsync()
    {
        await using var db = Database();
        return await db.Runs.CountAsync();
    }
}
