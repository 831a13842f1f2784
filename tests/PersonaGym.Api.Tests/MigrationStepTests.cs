using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>
/// The migration step (<c>PersonaGym.Api migrate</c>) on the real test PostgreSQL, laid out with the two roles as the
/// AppHost lays it out: the owner migrates and grants, the service role then works with rows.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class MigrationStepTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];
    private string _superuser = "";
    private DatabaseLogin _owner = null!;
    private DatabaseLogin _service = null!;

    public async Task InitializeAsync()
    {
        _superuser = await postgres.CreateDatabaseAsync();
        _owner = new DatabaseLogin($"owner_{_suffix}", "owner-" + Guid.NewGuid().ToString("N"));
        _service = new DatabaseLogin($"service_{_suffix}", "service-" + Guid.NewGuid().ToString("N"));
        await DatabaseRoles.EnsureAsync(_superuser, Database, _owner, _service);
    }

    public Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        return Task.CompletedTask;
    }

    private string Database => new NpgsqlConnectionStringBuilder(_superuser).Database!;

    private string As(DatabaseLogin login) =>
        new NpgsqlConnectionStringBuilder(_superuser) { Username = login.Role, Password = login.Password, Pooling = false }.ConnectionString;

    [Fact]
    public async Task The_step_migrates_as_the_owner_and_the_service_role_then_works_with_rows_of_a_current_schema()
    {
        var configuration = Settings(new()
        {
            [$"ConnectionStrings:{StageHostingExtensions.OwnerConnectionName}"] = As(_owner),
            [MigrationStep.ServiceRoleKey] = _service.Role,
        });

        await MigrationStep.ApplyAsync(configuration, NullLogger.Instance);

        var services = new ServiceCollection().AddPersonaGymData(new DatabaseConnection(DatabaseProvider.Postgres, As(_service))).BuildServiceProvider();
        await PersonaGymDatabase.RequireCurrentSchemaAsync(services);
        await using var db = await services.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>().CreateDbContextAsync();
        Assert.Equal(0, await db.Runs.CountAsync());
        Assert.Equal(0, await db.ApiKeys.CountAsync());

        // Running it again (every start of the AppHost, every new revision in Azure) changes nothing.
        await MigrationStep.ApplyAsync(configuration, NullLogger.Instance);
    }

    [Fact]
    public async Task A_service_that_does_not_migrate_refuses_to_start_before_the_step_has_run()
    {
        var services = new ServiceCollection().AddPersonaGymData(new DatabaseConnection(DatabaseProvider.Postgres, As(_service))).BuildServiceProvider();

        var error = await Assert.ThrowsAsync<DatabaseUnavailableException>(() => PersonaGymDatabase.RequireCurrentSchemaAsync(services));

        Assert.Contains("migrate", error.Message);
        Assert.DoesNotContain(_service.Password, error.Message);
    }

    [Fact]
    public async Task Without_any_database_connection_string_the_step_says_which_is_missing()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => MigrationStep.ApplyAsync(Settings([]), NullLogger.Instance));

        Assert.Contains(StageHostingExtensions.OwnerConnectionName, error.Message);
    }

    [Fact]
    public async Task The_step_run_as_a_process_exits_1_when_the_database_refuses_its_login()
    {
        var wrong = new NpgsqlConnectionStringBuilder(As(_owner)) { Password = "wrong-password-4711" }.ConnectionString;

        var exitCode = await MigrationStep.RunAsync([MigrationStep.Command, $"--ConnectionStrings:{StageHostingExtensions.OwnerConnectionName}={wrong}"]);

        Assert.Equal(1, exitCode);
    }

    private static IConfiguration Settings(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
