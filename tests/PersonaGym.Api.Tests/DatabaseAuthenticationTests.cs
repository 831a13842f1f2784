using System.Diagnostics;
using Azure.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Pipeline.Messaging;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>
/// Microsoft Entra authentication to PostgreSQL (DatabaseAuthentication), against the real test server: the role's
/// password is set to the token a fake credential hands out, so a connection opens only when the token is the password.
/// Azure itself cannot be reached here; what Azure does with a real token is not checked (docs/deployment.md).
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class DatabaseAuthenticationTests(PostgresServer postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly string _role = "entra_identity_" + Guid.NewGuid().ToString("N")[..10];
    private string _superuser = "";
    private string _passwordless = "";

    public async Task InitializeAsync()
    {
        _superuser = await postgres.CreateDatabaseAsync();
        // The identity's role as pgaadauth_create_principal would make it; here its password is the fake token.
        await SetPasswordAsync("token-1", create: true);
        _passwordless = new NpgsqlConnectionStringBuilder(_superuser) { Username = _role, Pooling = false }.ConnectionString;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_connection_logs_in_with_the_token_for_the_database_scope_as_its_password()
    {
        var credential = new FakeTokenCredential("token-1");
        var connection = DatabaseAuthentication.Connect(Entra(), _passwordless, credential);

        Assert.NotNull(connection.PostgresDataSource);
        await using (var opened = await PersonaGymDatabase.OpenPostgresAsync(connection))
        {
            await using var whoAmI = new NpgsqlCommand("SELECT current_user", opened);
            Assert.Equal(_role, await whoAmI.ExecuteScalarAsync());
        }
        Assert.All(credential.Scopes, scopes => Assert.Equal([DatabaseAuthentication.TokenScope], scopes));

        // EF Core's contexts open their connections from the same data source.
        await using var db = PersonaGymDatabase.CreateDbContext(connection);
        Assert.True(await db.Database.CanConnectAsync());
        await connection.PostgresDataSource!.DisposeAsync();
    }

    [Fact]
    public async Task Without_the_token_the_same_role_is_refused()
    {
        var credential = new FakeTokenCredential("not-the-password");
        var connection = DatabaseAuthentication.Connect(Entra(), _passwordless, credential);

        var error = await Assert.ThrowsAsync<PostgresException>(() => PersonaGymDatabase.OpenPostgresAsync(connection));

        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
        await connection.PostgresDataSource!.DisposeAsync();
    }

    [Fact]
    public async Task A_renewed_token_is_taken_for_new_connections_before_the_old_one_stops_working()
    {
        var credential = new FakeTokenCredential("token-1");
        var connection = DatabaseAuthentication.Connect(Entra(refresh: "00:00:00.200"), _passwordless, credential);
        await (await PersonaGymDatabase.OpenPostgresAsync(connection)).DisposeAsync();

        // The identity's token is renewed, and the old one stops being accepted.
        credential.Current = "token-2";
        await SetPasswordAsync("token-2", create: false);

        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await (await PersonaGymDatabase.OpenPostgresAsync(connection)).DisposeAsync();
                break;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidPassword && watch.Elapsed < Bound)
            {
                await Task.Delay(50);
            }
        }
        Assert.True(credential.Requests >= 2, $"the token was asked for {credential.Requests} time(s)");
        await connection.PostgresDataSource!.DisposeAsync();
    }

    [Fact]
    public void A_service_under_entra_authentication_builds_its_contexts_on_the_token_data_source()
    {
        // The host is built, never started, and no connection opened: a real managed identity is not reachable here.
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"ConnectionStrings:{StageHostingExtensions.DatabaseConnectionName}"] = _passwordless,
            [StageHostingExtensions.InMemoryMessagingKey] = "true",
            [DatabaseAuthentication.ModeKey] = "EntraManagedIdentity",
            [DatabaseAuthentication.ClientIdKey] = "00000000-0000-0000-0000-000000000001",
        });
        builder.AddPersonaGymStages(PipelineStages.Coordination);
        using var host = builder.Build();

        var connection = host.Services.GetRequiredService<DatabaseConnection>();
        Assert.NotNull(connection.PostgresDataSource);
        using var scope = host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<PersonaGymDbContext>();
        var npgsql = Assert.IsType<NpgsqlConnection>(db.Database.GetDbConnection());
        Assert.Equal(_role, new NpgsqlConnectionStringBuilder(npgsql.ConnectionString).Username);
        Assert.True(string.IsNullOrEmpty(new NpgsqlConnectionStringBuilder(npgsql.ConnectionString).Password));
    }

    [Fact]
    public void A_connection_string_with_a_password_is_refused_under_entra_authentication()
    {
        var withPassword = new NpgsqlConnectionStringBuilder(_passwordless) { Password = "secret-value" }.ConnectionString;

        var error = Assert.Throws<InvalidOperationException>(() => DatabaseAuthentication.Connect(Entra(), withPassword, new FakeTokenCredential("t")));

        Assert.Contains("must not carry a password", error.Message);
        Assert.DoesNotContain("secret-value", error.Message);
    }

    [Fact]
    public void A_connection_string_without_a_role_is_refused_under_entra_authentication()
    {
        var withoutRole = new NpgsqlConnectionStringBuilder(_passwordless) { Username = null }.ConnectionString;

        var error = Assert.Throws<InvalidOperationException>(() => DatabaseAuthentication.Connect(Entra(), withoutRole, new FakeTokenCredential("t")));

        Assert.Contains("must name the role", error.Message);
    }

    [Fact]
    public void An_unknown_authentication_mode_is_refused_with_the_modes_there_are()
    {
        var configuration = Settings(new() { [DatabaseAuthentication.ModeKey] = "Kerberos" });

        var error = Assert.Throws<InvalidOperationException>(() => DatabaseAuthentication.Connect(configuration, _passwordless));

        Assert.Contains("Password, EntraManagedIdentity", error.Message);
    }

    [Fact]
    public void Without_settings_the_connection_string_password_is_used_and_no_token_is_asked_for()
    {
        var credential = new FakeTokenCredential("token-1");

        var connection = DatabaseAuthentication.Connect(Settings([]), _superuser, credential);

        Assert.Null(connection.PostgresDataSource);
        Assert.Equal(0, credential.Requests);
    }

    private static IConfiguration Entra(string? refresh = null) => Settings(new()
    {
        [DatabaseAuthentication.ModeKey] = "EntraManagedIdentity",
        [DatabaseAuthentication.TokenRefreshKey] = refresh,
    });

    private static IConfiguration Settings(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private async Task SetPasswordAsync(string password, bool create)
    {
        await using var connection = new NpgsqlConnection(_superuser);
        await connection.OpenAsync();
        var verb = create ? "CREATE" : "ALTER";
        await using var command = new NpgsqlCommand($"{verb} ROLE {DatabaseRoles.Quote(_role)} LOGIN PASSWORD '{password}'", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Hands out <see cref="Current"/> as the token and records what it was asked for.</summary>
    private sealed class FakeTokenCredential(string token) : TokenCredential
    {
        private int _requests;

        public volatile string Current = token;

        public int Requests => Volatile.Read(ref _requests);

        public System.Collections.Concurrent.ConcurrentQueue<string[]> Scopes { get; } = new();

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            Scopes.Enqueue(requestContext.Scopes);
            return new AccessToken(Current, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
