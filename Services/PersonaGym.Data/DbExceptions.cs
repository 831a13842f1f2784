using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace PersonaGym.Data;

/// <summary>
/// Duplicates are detected by unique indexes: a consumer that loses an insert race treats the violation as
/// "another worker already stored it", reloads, and carries on.
/// </summary>
public static class DbExceptions
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraintPrimaryKey = 1555;

    /// <summary>True when saving failed because a row with the same unique key exists (PostgreSQL 23505, SQLite UNIQUE / PRIMARY KEY constraint).</summary>
    public static bool IsUniqueViolation(DbUpdateException exception) => IsUniqueViolation((Exception)exception);

    /// <inheritdoc cref="IsUniqueViolation(DbUpdateException)"/>
    public static bool IsUniqueViolation(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case PostgresException { SqlState: PostgresErrorCodes.UniqueViolation }:
                case SqliteException
                {
                    SqliteErrorCode: SqliteConstraint,
                    SqliteExtendedErrorCode: SqliteConstraintUnique or SqliteConstraintPrimaryKey,
                }:
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// True when the database could not be reached (refused or lost connection, timeout): a temporary condition of the
    /// server, not a fault of the request or the data.
    /// </summary>
    public static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException or TimeoutException) return true;
        }

        return false;
    }
}
