using Microsoft.EntityFrameworkCore;

namespace PersonaGym.Data.Tests;

/// <summary>SQLite connections wait for a locked file instead of failing at once (see SqliteConnectionPragmas).</summary>
public sealed class SqliteConnectionTests : IDisposable
{
    private readonly SqliteTestDatabase _database = new();

    [Fact]
    public async Task Every_sqlite_connection_waits_for_locks_and_commits_without_its_own_fsync()
    {
        await PersonaGymDatabase.MigrateAsync(_database.Connection);
        await using var db = PersonaGymDatabase.CreateDbContext(_database.Connection);

        await db.Database.OpenConnectionAsync();
        var busyTimeout = await db.Database.SqlQueryRaw<long>("PRAGMA busy_timeout").ToListAsync();
        var synchronous = await db.Database.SqlQueryRaw<long>("PRAGMA synchronous").ToListAsync();
        var journal = await db.Database.SqlQueryRaw<string>("PRAGMA journal_mode").ToListAsync();

        Assert.Equal([30000L], busyTimeout);
        Assert.Equal([1L], synchronous); // NORMAL
        Assert.Equal(["wal"], journal);
    }

    public void Dispose() => _database.Dispose();
}
