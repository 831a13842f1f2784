using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace PersonaGym.Data;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Which database to use and how to reach it. <see cref="ToString"/> never shows a password, so a connection
/// can be logged and put in error messages.
/// </summary>
public sealed record DatabaseConnection(DatabaseProvider Provider, string ConnectionString)
{
    /// <summary>
    /// A PostgreSQL data source to open connections from instead of <see cref="ConnectionString"/>: one whose
    /// password is a token that changes (Microsoft Entra authentication; see PersonaGym.Hosting's
    /// <c>DatabaseAuthentication</c>). Null: the connection string's own password, if any.
    /// </summary>
    public NpgsqlDataSource? PostgresDataSource { get; init; }

    /// <summary>The SQLite file used when no database is named (the CLI's local default).</summary>
    public const string DefaultSqliteFile = "personagym.db";

    /// <summary>
    /// Reads a <c>--db</c> style argument:
    /// nothing → SQLite file <c>personagym.db</c>; <c>sqlite:path</c>, a file path or <c>Data Source=…</c> → SQLite;
    /// <c>postgres://user:pass@host:port/db?sslmode=require</c> (or <c>postgresql://</c>) or <c>Host=…;…</c> → PostgreSQL.
    /// </summary>
    /// <exception cref="FormatException">The argument names a database in a form that cannot be used.</exception>
    public static DatabaseConnection Parse(string? dbArgument)
    {
        var argument = dbArgument?.Trim();
        if (string.IsNullOrEmpty(argument)) return Sqlite(DefaultSqliteFile);

        if (argument.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            var path = argument["sqlite:".Length..].Trim();
            return Sqlite(path.Length == 0 ? DefaultSqliteFile : path);
        }

        if (argument.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
            argument.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return new(DatabaseProvider.Postgres, PostgresFromUri(argument));
        }

        if (TryReadKeyValuePairs(argument, out var pairs))
        {
            if (pairs.ContainsKey("host") || pairs.ContainsKey("server"))
            {
                try
                {
                    return new(DatabaseProvider.Postgres, new NpgsqlConnectionStringBuilder(argument).ConnectionString);
                }
                catch (ArgumentException e)
                {
                    throw new FormatException($"The PostgreSQL connection string is not valid: {e.Message}", e);
                }
            }
            if (pairs.ContainsKey("data source") || pairs.ContainsKey("datasource") || pairs.ContainsKey("filename"))
            {
                try
                {
                    return new(DatabaseProvider.Sqlite, new SqliteConnectionStringBuilder(argument).ConnectionString);
                }
                catch (ArgumentException e)
                {
                    throw new FormatException($"The SQLite connection string is not valid: {e.Message}", e);
                }
            }
            throw new FormatException(
                $"'{Mask(argument)}' looks like a connection string but names neither Host= (PostgreSQL) nor Data Source= (SQLite).");
        }

        return Sqlite(argument);
    }

    /// <summary>Where the database is, without secrets: e.g. <c>PostgreSQL db1 on 10.0.0.5:5432</c> or <c>SQLite /data/personagym.db</c>.</summary>
    public override string ToString()
    {
        if (Provider == DatabaseProvider.Sqlite)
        {
            return $"SQLite {new SqliteConnectionStringBuilder(ConnectionString).DataSource}";
        }
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"PostgreSQL {builder.Database ?? "(default database)"} on {builder.Host}:{builder.Port}";
    }

    private static DatabaseConnection Sqlite(string path)
    {
        if (path.Equals(":memory:", StringComparison.Ordinal))
        {
            throw new FormatException("An in-memory SQLite database does not outlive its connection; name a file instead.");
        }
        var builder = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(path) };
        return new(DatabaseProvider.Sqlite, builder.ConnectionString);
    }

    private static string PostgresFromUri(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException($"'{Mask(text)}' is not a valid postgres:// URI (postgres://user:password@host:port/database).");
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host.Trim('[', ']') };
        if (uri.Port > 0) builder.Port = uri.Port;
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var separator = uri.UserInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(separator < 0 ? uri.UserInfo : uri.UserInfo[..separator]);
            if (separator >= 0) builder.Password = Uri.UnescapeDataString(uri.UserInfo[(separator + 1)..]);
        }
        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length > 0) builder.Database = database;

        foreach (var parameter in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = parameter.IndexOf('=');
            var key = Uri.UnescapeDataString(separator < 0 ? parameter : parameter[..separator]);
            var value = separator < 0 ? "" : Uri.UnescapeDataString(parameter[(separator + 1)..]);
            // libpq's names for the parameters people put in URIs; anything else must be an Npgsql keyword.
            var keyword = key.ToLowerInvariant() switch
            {
                "sslmode" => "SSL Mode",
                "application_name" => "Application Name",
                "connect_timeout" => "Timeout",
                "options" => "Options",
                _ => key,
            };
            try
            {
                builder[keyword] = value;
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                throw new FormatException($"The postgres:// URI parameter '{key}' is not supported: {e.Message}", e);
            }
        }
        return builder.ConnectionString;
    }

    private static bool TryReadKeyValuePairs(string text, out Dictionary<string, string> pairs)
    {
        pairs = new(StringComparer.OrdinalIgnoreCase);
        if (!text.Contains('=')) return false;
        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = text };
            foreach (string key in builder.Keys) pairs[key] = builder[key]?.ToString() ?? "";
            return pairs.Count > 0;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string Mask(string text)
    {
        var at = text.IndexOf('@');
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (at > 0 && scheme > 0 && at > scheme) return text[..(scheme + 3)] + "***" + text[at..];
        return text.Contains("password", StringComparison.OrdinalIgnoreCase) ? "(connection string with a password)" : text;
    }
}

/// <summary>The named database cannot be reached or opened; the message says which one and why.</summary>
public sealed class DatabaseUnavailableException(string message, Exception? innerException = null)
    : Exception(message, innerException);
