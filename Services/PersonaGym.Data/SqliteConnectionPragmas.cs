using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
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
/// <para>Both settings belong to the native connection, which Microsoft.Data.Sqlite pools: they are sent once per native
/// connection, not at every open (a context opens its connection for each query, and the pragmas were one extra
/// statement per query).</para>
/// </remarks>
internal sealed class SqliteConnectionPragmas : DbConnectionInterceptor
{
    public static readonly SqliteConnectionPragmas Instance = new();

    private const string Pragmas = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;";

    private readonly ConditionalWeakTable<object, object> _configured = [];

    /// <summary>True the first time a native connection is seen (the pooled handle outlives each <see cref="SqliteConnection"/>).</summary>
    private bool FirstOpen(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle }) return true;
        return _configured.TryAdd(handle, handle);
    }

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (!FirstOpen(connection)) return;
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (!FirstOpen(connection)) return;
        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
