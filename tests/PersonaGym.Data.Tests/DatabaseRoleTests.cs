using Microsoft.EntityFrameworkCore;
using Npgsql;
using PersonaGym.Testing;

namespace PersonaGym.Data.Tests;

/// <summary>
/// The least-privileged layout of a PersonaGym database (DatabaseRoles): the owner migrates, the services' role works
/// with rows only. What the services can do at all is shown by the storage, cache and query tests running as that role
/// (ProviderSubclasses.cs); these tests show what it cannot do.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class DatabaseRoleTests(PostgresServer server) : IAsyncLifetime
{
    private ServiceRoleDatabase _database = null!;

    public async Task InitializeAsync() => _database = await ServiceRoleDatabase.CreateMigratedAsync(server);

    public Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        return Task.CompletedTask;
    }

    public static TheoryData<string> SchemaChanges() => new()
    {
        "DROP TABLE \"Runs\"",
        "ALTER TABLE \"Runs\" ADD COLUMN sneaky text",
        "TRUNCATE \"Runs\"",
        "CREATE TABLE sneaky (id int)",
        "CREATE SCHEMA sneaky",
        "CREATE INDEX sneaky ON \"Runs\" (\"Name\")",
        "DROP TABLE \"__EFMigrationsHistory\"",
    };

    [Theory]
    [MemberData(nameof(SchemaChanges))]
    public async Task The_service_role_cannot_change_the_schema(string statement)
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(_database.ServiceConnectionString, statement));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    [Theory]
    [InlineData("CREATE ROLE sneaky LOGIN PASSWORD 'x'")]
    [InlineData("CREATE DATABASE sneaky")]
    [InlineData("ALTER ROLE CURRENT_USER SUPERUSER")]
    public async Task The_service_role_cannot_create_roles_or_databases_nor_raise_itself(string statement)
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(_database.ServiceConnectionString, statement));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    [Fact]
    public async Task Both_roles_are_plain_logins_and_the_owner_owns_every_table()
    {
        await using var connection = new NpgsqlConnection(_database.SuperuserConnectionString);
        await connection.OpenAsync();

        foreach (var role in new[] { _database.Owner.Role, _database.Service.Role })
        {
            await using var flags = new NpgsqlCommand(
                "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = @role", connection);
            flags.Parameters.AddWithValue("role", role);
            await using var reader = await flags.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync(), $"role {role} exists");
            Assert.Equal((true, false, false, false), (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3)));
        }

        await using var owners = new NpgsqlCommand("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'", connection);
        var tableOwners = new List<string>();
        await using (var reader = await owners.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) tableOwners.Add(reader.GetString(0));
        }
        Assert.Equal([_database.Owner.Role], tableOwners);
    }

    [Fact]
    public async Task The_service_role_sees_the_schema_as_current_and_may_not_migrate_it()
    {
        var service = new DatabaseConnection(DatabaseProvider.Postgres, _database.ServiceConnectionString);
        await using var db = PersonaGymDatabase.CreateDbContext(service);

        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.NotEmpty(await db.Database.GetAppliedMigrationsAsync());
    }

    [Fact]
    public async Task The_service_role_cannot_apply_pending_migrations_and_is_told_to_run_the_migration_step()
    {
        // A new database with both roles, not yet migrated.
        var superuser = await server.CreateDatabaseAsync();
        var name = new NpgsqlConnectionStringBuilder(superuser).Database!;
        await DatabaseRoles.EnsureAsync(superuser, name, _database.Owner, _database.Service);
        var service = new NpgsqlConnectionStringBuilder(superuser) { Username = _database.Service.Role, Password = _database.Service.Password }.ConnectionString;

        var error = await Assert.ThrowsAsync<DatabaseUnavailableException>(
            () => PersonaGymDatabase.MigrateAsync(new DatabaseConnection(DatabaseProvider.Postgres, service)));

        Assert.Contains("migration step", error.Message);
        Assert.DoesNotContain(_database.Service.Password, error.Message);
    }

    [Fact]
    public async Task A_table_a_later_migration_creates_is_usable_by_the_service_role_without_new_grants()
    {
        // What the next release's migration does, as the owner, after the grants of this one.
        await ExecuteAsync(_database.OwnerConnectionString,
            "CREATE TABLE \"LaterFeature\" (\"Id\" integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \"Note\" text NOT NULL)");

        await ExecuteAsync(_database.ServiceConnectionString, "INSERT INTO \"LaterFeature\" (\"Note\") VALUES ('first'), ('second')");
        await ExecuteAsync(_database.ServiceConnectionString, "UPDATE \"LaterFeature\" SET \"Note\" = 'changed' WHERE \"Note\" = 'first'");
        await ExecuteAsync(_database.ServiceConnectionString, "DELETE FROM \"LaterFeature\" WHERE \"Note\" = 'second'");

        await using var connection = new NpgsqlConnection(_database.ServiceConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT string_agg(\"Note\", ',') FROM \"LaterFeature\"", connection);
        Assert.Equal("changed", await read.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Other_roles_cannot_connect_to_the_database()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var stranger = new DatabaseLogin($"stranger_{suffix}", "stranger-password");
        await ExecuteAsync(_database.SuperuserConnectionString,
            $"CREATE ROLE {DatabaseRoles.Quote(stranger.Role)} LOGIN PASSWORD 'stranger-password'");
        var asStranger = new NpgsqlConnectionStringBuilder(_database.SuperuserConnectionString)
        {
            Username = stranger.Role, Password = stranger.Password, Pooling = false,
        }.ConnectionString;

        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(asStranger, "SELECT 1"));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    [Fact]
    public async Task A_database_a_superuser_migrated_is_handed_to_the_owner_and_opened_to_the_service_role()
    {
        // The layout before the roles existed: the superuser made every table.
        var superuser = await server.CreateDatabaseAsync();
        await PersonaGymDatabase.MigrateAsync(new DatabaseConnection(DatabaseProvider.Postgres, superuser));
        var name = new NpgsqlConnectionStringBuilder(superuser).Database!;
        await DatabaseRoles.EnsureAsync(superuser, name, _database.Owner, _database.Service);
        var owner = new NpgsqlConnectionStringBuilder(superuser) { Username = _database.Owner.Role, Password = _database.Owner.Password }.ConnectionString;
        var service = new NpgsqlConnectionStringBuilder(superuser) { Username = _database.Service.Role, Password = _database.Service.Password }.ConnectionString;

        // The owner can migrate it further (it owns the history table) and grant the service role.
        await PersonaGymDatabase.MigrateAsync(new DatabaseConnection(DatabaseProvider.Postgres, owner));
        await using (var connection = new NpgsqlConnection(owner))
        {
            await connection.OpenAsync();
            await DatabaseRoles.GrantServiceAccessAsync(connection, _database.Service.Role);
        }
        await ExecuteAsync(owner, "ALTER TABLE \"Runs\" ADD COLUMN \"LaterColumn\" text");

        await using var db = PersonaGymDatabase.CreateDbContext(new DatabaseConnection(DatabaseProvider.Postgres, service));
        Assert.Equal(0, await db.Runs.CountAsync());
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(service, "DROP TABLE \"Runs\""));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    [Fact]
    public async Task A_wrong_password_is_refused()
    {
        var wrong = new NpgsqlConnectionStringBuilder(_database.ServiceConnectionString) { Password = "wrong", Pooling = false }.ConnectionString;

        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(wrong, "SELECT 1"));

        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
    }

    [Fact]
    public async Task Creating_the_roles_again_changes_their_passwords()
    {
        var renewed = _database.Service with { Password = "renewed-" + Guid.NewGuid().ToString("N") };

        await DatabaseRoles.EnsureAsync(_database.SuperuserConnectionString, _database.Name, _database.Owner, renewed);

        NpgsqlConnection.ClearAllPools();
        var old = new NpgsqlConnectionStringBuilder(_database.ServiceConnectionString) { Pooling = false }.ConnectionString;
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(old, "SELECT 1"));
        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
        var current = new NpgsqlConnectionStringBuilder(old) { Password = renewed.Password }.ConnectionString;
        await ExecuteAsync(current, "SELECT count(*) FROM \"Runs\"");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
