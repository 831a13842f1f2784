using PersonaGym.Data;
using PersonaGym.Testing;

namespace PersonaGym.Data.Tests;

[CollectionDefinition(PostgresServer.Collection)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;

[CollectionDefinition(RabbitMqServer.Collection)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqServer>;

/// <summary>
/// A freshly migrated database per test, on the provider a subclass chooses; behaviour that must hold on every
/// provider is written once in an abstract test class and run by a PostgreSQL and a SQLite subclass.
/// </summary>
public abstract class DatabaseTest : IAsyncLifetime
{
    protected DatabaseConnection Connection { get; private set; } = null!;

    protected abstract Task<DatabaseConnection> CreateDatabaseAsync();

    public async Task InitializeAsync()
    {
        Connection = await CreateDatabaseAsync();
        await MigrateAsync();
    }

    /// <summary>Brings the schema up to date; a database whose test role may not change the schema is migrated as its owner instead.</summary>
    protected virtual Task MigrateAsync() => PersonaGymDatabase.MigrateAsync(Connection);

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected PersonaGymDbContext NewContext() => PersonaGymDatabase.CreateDbContext(Connection);
}

/// <summary>Creates a SQLite file in its own temporary folder and deletes the folder afterwards.</summary>
public sealed class SqliteTestDatabase : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("personagym-sqlite-").FullName;

    public DatabaseConnection Connection => DatabaseConnection.Parse("sqlite:" + Path.Combine(_folder, "test.db"));

    public void Dispose()
    {
        // Pooled SQLite connections keep the file open until the pool lets go of them.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
