using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace PersonaGym.Data;

/// <summary>
/// Settings every SQLite connection needs when many workers of one process write at once (the CLI's local mode).
/// </summary>
/// <remarks>
/// <para><c>busy_timeout</c>: without it a writer that finds the file locked gets SQLITE_BUSY at once, and
/// Microsoft.Data.Sqlite retries after a 150 ms <c>Thread.Sleep</c>, which blocks a thread-pool thread; under load that
/// sleep dominated a run's wall time. SQLite's own busy handler instead waits in steps of a few milliseconds and goes on
/// the moment the lock is free.</para>
/// <para><c>synchronous=NORMAL</c>: in WAL mode (set at migration) a commit then needs no fsync of its own; a process crash
/// loses nothing, an operating-system crash may lose the last commits, which a resume redoes.</para>
/// </remarks>
internal sealed class SqliteConnectionPragmas : DbConnectionInterceptor
{
    public static readonly SqliteConnectionPragmas Instance = new();

    private const string Pragmas = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
