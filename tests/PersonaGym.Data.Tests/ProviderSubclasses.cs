using Npgsql;
using PersonaGym.Testing;

namespace PersonaGym.Data.Tests;

// Every abstract provider-neutral test class runs once on PostgreSQL (a real server) and once on SQLite, and on
// PostgreSQL once more logged in as the services' least-privileged role (ServiceRoleDatabase).

[Collection(PostgresServer.Collection)]
public sealed class PostgresStorageTests(PostgresServer server) : StorageTests
{
    protected override Task<DatabaseConnection> CreateDatabaseAsync() => Postgres.CreateAsync(server);
    public override Task DisposeAsync() => Postgres.ReleaseAsync(Connection);
}

[Collection(PostgresServer.Collection)]
public sealed class PostgresServiceRoleStorageTests(PostgresServer server) : StorageTests
{
    private ServiceRoleDatabase? _database;
    protected override async Task<DatabaseConnection> CreateDatabaseAsync() => (_database = await ServiceRoleDatabase.CreateMigratedAsync(server)).ServiceConnection;
    protected override Task MigrateAsync() => _database!.MigrateAsOwnerAsync();
    public override Task DisposeAsync() => Postgres.ReleaseAsync(Connection);
}

public sealed class SqliteStorageTests : StorageTests, IDisposable
{
    private readonly SqliteTestDatabase _database = new();
    protected override Task<DatabaseConnection> CreateDatabaseAsync() => Task.FromResult(_database.Connection);
    public void Dispose() => _database.Dispose();
}

[Collection(PostgresServer.Collection)]
public sealed class PostgresCacheTests(PostgresServer server) : CacheTests
{
    protected override Task<DatabaseConnection> CreateDatabaseAsync() => Postgres.CreateAsync(server);
    public override Task DisposeAsync() => Postgres.ReleaseAsync(Connection);
}

[Collection(PostgresServer.Collection)]
public sealed class PostgresServiceRoleCacheTests(PostgresServer server) : CacheTests
{
    private ServiceRoleDatabase? _database;
    protected override async Task<DatabaseConnection> CreateDatabaseAsync() => (_database = await ServiceRoleDatabase.CreateMigratedAsync(server)).ServiceConnection;
    protected override Task MigrateAsync() => _database!.MigrateAsOwnerAsync();
    public override Task DisposeAsync() => Postgres.ReleaseAsync(Connection);
}

public sealed class SqliteCacheTests : CacheTests, IDisposable
{
    private readonly SqliteTestDatabase _database = new();
    protected override Task<DatabaseConnection> CreateDatabaseAsync() => Task.FromResult(_database.Connection);
    public void Dispose() => _database.Dispose();
}

[Collection(PostgresServer.Collection)]
public sealed class PostgresQueryTests(PostgresServer server) : QueryTests
{
    protected override Task<DatabaseConnection> CreateDatabaseAsync() => Postgres.CreateAsync(server);
    public override Task DisposeAsync() => Postgres.ReleaseAsync(Connection);
}

[Collection(PostgresServer.Collection)]
public sealed class PostgresServiceRoleQueryTests(PostgresServer server) : QueryTests
{
    private ServiceRoleDatabase? _database;
    protected override async Task<DatabaseConnection> CreateDatabaseAsync() => (_database = await ServiceRoleDatabase.CreateMigratedAsync(server)).ServiceConnection;
    protected override Task MigrateAsync() => _database!.MigrateAsOwnerAsync();
    public override Task DisposeAsync() => Postgres.ReleaseAsync(Connection);
}

public sealed class SqliteQueryTests : QueryTests, IDisposable
{
    private readonly SqliteTestDatabase _database = new();
    protected override Task<DatabaseConnection> CreateDatabaseAsync() => Task.FromResult(_database.Connection);
    public void Dispose() => _database.Dispose();
}

internal static class Postgres
{
    public static async Task<DatabaseConnection> CreateAsync(PostgresServer server) =>
        DatabaseConnection.Parse(await server.CreateDatabaseAsync());

    /// <summary>Closes the test database's idle pooled connections, so many test databases stay within the server's connection limit.</summary>
    public static Task ReleaseAsync(DatabaseConnection connection)
    {
        using var npgsql = new NpgsqlConnection(connection.ConnectionString);
        NpgsqlConnection.ClearPool(npgsql);
        return Task.CompletedTask;
    }
}
