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
/// <see cref="Client"/> sends an operator key (created in the database as <c>personagym keys create</c> does);
/// <see cref="AnonymousClient"/> and <see cref="ClientWith"/> test access control.
/// </summary>
public class ApiHost(PostgresServer postgres) : IAsyncLifetime
{
    private WebApplicationFactory<Program>? _factory;

    public string ConnectionString { get; private set; } = "";

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("Not initialised.");

    public virtual async Task InitializeAsync()
    {
        ConnectionString = await postgres.CreateDatabaseAsync();
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting($"ConnectionStrings:{StageHostingExtensions.DatabaseConnectionName}", ConnectionString);
            web.UseSetting(StageHostingExtensions.InMemoryMessagingKey, "true");
            // A run that stops on its budget is resumed by the test, not by the sweeper.
            web.UseSetting("PersonaGym:Pipeline:SweepInterval", "00:00:00");
            Configure(web);
        });
        // Starts the server (and applies the migrations) now, not inside the first test.
        _ = _factory.Server;
        OperatorKey = await CreateKeyAsync("test-operator", ApiKeyRole.Operator);
    }

    /// <summary>Settings a test class needs beyond the defaults.</summary>
    protected virtual void Configure(IWebHostBuilder web)
    {
    }

    /// <summary>The secret of an operator key, sent by <see cref="Client"/>.</summary>
    public string OperatorKey { get; private set; } = "";

    public async Task<string> CreateKeyAsync(string name, ApiKeyRole role)
    {
        await using var db = Database();
        return (await ApiKeyStore.CreateAsync(db, name, role)).Secret;
    }

    public virtual async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
    }

    /// <summary>A client with an operator key.</summary>
    public HttpClient Client() => ClientWith(OperatorKey);

    /// <summary>A client that sends <paramref name="key"/> in the X-Api-Key header.</summary>
    public HttpClient ClientWith(string key)
    {
        var client = Factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    /// <summary>A client without any credentials.</summary>
    public HttpClient AnonymousClient() => Factory.CreateClient();

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

    /// <summary>
    /// What a request could change, as text to compare before and after: every run's status and budgets, every
    /// rating and rater name's owner, and how many personas, question sets, answers, verdicts and model calls are stored. A run another
    /// test of the class submitted is still being worked on by this host's stages: the snapshot waits until no run is
    /// pending or running, so that only the request under test can tell two snapshots apart.
    /// </summary>
    public async Task<string> StoredStateAsync()
    {
        await using var db = Database();
        using (var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            while (await db.Runs.AnyAsync(r => r.Status == RunStatus.Pending || r.Status == RunStatus.Running, cancel.Token))
                await Task.Delay(100, cancel.Token);
        }
        var runs = await db.Runs.AsNoTracking().OrderBy(r => r.Id)
            .Select(r => new { r.Id, r.Status, r.Error, r.UpdatedAt, r.CompletedAt, r.MaxCalls, r.MaxTokens }).ToListAsync();
        var ratings = await db.HumanRatings.AsNoTracking().OrderBy(r => r.Id)
            .Select(r => new { r.AnswerId, r.Rater, r.Score, r.UpdatedAt }).ToListAsync();
        var raterNames = await db.RaterNames.AsNoTracking().OrderBy(n => n.Name).Select(n => new { n.Name, n.Principal }).ToListAsync();
        return System.Text.Json.JsonSerializer.Serialize(new
        {
            runs,
            ratings,
            raterNames,
            personas = await db.Personas.CountAsync(),
            questionSets = await db.QuestionSets.CountAsync(),
            answers = await db.Answers.CountAsync(),
            judgements = await db.Judgements.CountAsync(),
            calls = await db.LlmCalls.CountAsync(),
        });
    }
}
