using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Cli;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Testing;
using Spectre.Console;

namespace PersonaGym.Api.Tests;

/// <summary>
/// The first operator key (<c>PersonaGym:Auth:BootstrapKey</c>, which the AppHost and <c>scripts/up.sh</c> pass to the
/// Api on every start): stored at start, and once revoked, never made active again by a later start with the same key.
/// Each test starts the real Api more than once on one database, as restarts of the system do.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class BootstrapKeyTests(PostgresServer postgres)
{
    private const string BootstrapName = "bootstrap";

    [Fact]
    public async Task A_revoked_bootstrap_key_stays_revoked_when_the_Api_starts_again_with_it()
    {
        var database = await postgres.CreateDatabaseAsync();
        var key = ApiKeyStore.NewSecret();

        await using (var api = StartApi(database, key))
        {
            Assert.Equal(HttpStatusCode.OK, await MeAsync(api, key));
        }

        // A second start with the same key changes nothing: still the one stored key.
        await using (var api = StartApi(database, key))
        {
            Assert.Equal(HttpStatusCode.OK, await MeAsync(api, key));
            var revoked = await CliAsync("keys", "revoke", BootstrapName, "--db", database);
            Assert.Equal(0, revoked);
            Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(api, key));
        }

        await using (var api = StartApi(database, key))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(api, key));
        }

        var stored = await BootstrapKeysAsync(database);
        var only = Assert.Single(stored);
        Assert.Equal(ApiKeyStore.HashOf(key), only.Hash);
        Assert.NotNull(only.RevokedAt);
    }

    [Fact]
    public async Task A_changed_bootstrap_key_is_stored_and_revokes_the_one_configured_before()
    {
        var database = await postgres.CreateDatabaseAsync();
        var first = ApiKeyStore.NewSecret();
        var second = ApiKeyStore.NewSecret();

        await using (var api = StartApi(database, first))
        {
            Assert.Equal(HttpStatusCode.OK, await MeAsync(api, first));
        }

        await using (var api = StartApi(database, second))
        {
            Assert.Equal(HttpStatusCode.OK, await MeAsync(api, second));
            Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(api, first));
        }

        var stored = await BootstrapKeysAsync(database);
        Assert.Equal(2, stored.Count);
        Assert.Equal(ApiKeyStore.HashOf(second), Assert.Single(stored, k => k.RevokedAt is null).Hash);
    }

    /// <summary>The real Api on <paramref name="database"/>, started (migrations and the bootstrap key applied) before it returns.</summary>
    private static WebApplicationFactory<Program> StartApi(string database, string bootstrapKey)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting($"ConnectionStrings:{StageHostingExtensions.DatabaseConnectionName}", database);
            web.UseSetting(StageHostingExtensions.InMemoryMessagingKey, "true");
            web.UseSetting("PersonaGym:Pipeline:SweepInterval", "00:00:00");
            web.UseSetting("PersonaGym:Auth:BootstrapKey", bootstrapKey);
        });
        _ = factory.Server;
        return factory;
    }

    private static async Task<HttpStatusCode> MeAsync(WebApplicationFactory<Program> api, string key)
    {
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        using var response = await client.GetAsync("/api/me");
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var caller = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
            Assert.Equal(BootstrapName, caller.GetProperty("name").GetString());
        }
        return response.StatusCode;
    }

    private static async Task<List<ApiKey>> BootstrapKeysAsync(string database)
    {
        await using var db = PersonaGymDatabase.CreateDbContext(new DatabaseConnection(DatabaseProvider.Postgres, database));
        return await db.ApiKeys.AsNoTracking().Where(k => k.Name == BootstrapName).ToListAsync();
    }

    private static async Task<int> CliAsync(params string[] args)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(new StringWriter()), Ansi = AnsiSupport.No, Interactive = InteractionSupport.No });
        return await PersonaGymCli.InvokeAsync(args, new CliConsole(console, new StringWriter()));
    }
}
