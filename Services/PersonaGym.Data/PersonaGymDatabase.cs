using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace PersonaGym.Data;

/// <summary>Creating contexts for a <see cref="DatabaseConnection"/> and bringing its schema up to date.</summary>
public static class PersonaGymDatabase
{
    /// <summary>Points an options builder at the connection's provider.</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, DatabaseConnection connection)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connection);
        return connection.Provider switch
        {
            // Retries on transient failures, as the Aspire Npgsql integration does; explicit transactions must
            // therefore run inside Database.CreateExecutionStrategy().ExecuteAsync(...).
            DatabaseProvider.Postgres when connection.PostgresDataSource is { } dataSource =>
                builder.UseNpgsql(dataSource, npgsql => npgsql.EnableRetryOnFailure()),
            DatabaseProvider.Postgres => builder.UseNpgsql(connection.ConnectionString, npgsql => npgsql.EnableRetryOnFailure()),
            DatabaseProvider.Sqlite => builder.UseSqlite(connection.ConnectionString).AddInterceptors(SqliteConnectionPragmas.Instance),
            _ => throw new ArgumentOutOfRangeException(nameof(connection), connection.Provider, "Unknown database provider."),
        };
    }

    /// <summary>A new context for the connection (the provider's subclass); the caller disposes it.</summary>
    public static PersonaGymDbContext CreateDbContext(DatabaseConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.Provider switch
        {
            DatabaseProvider.Postgres => new PostgresPersonaGymDbContext(
                (DbContextOptions<PostgresPersonaGymDbContext>)Configure(new DbContextOptionsBuilder<PostgresPersonaGymDbContext>(), connection).Options),
            DatabaseProvider.Sqlite => new SqlitePersonaGymDbContext(
                (DbContextOptions<SqlitePersonaGymDbContext>)Configure(new DbContextOptionsBuilder<SqlitePersonaGymDbContext>(), connection).Options),
            _ => throw new ArgumentOutOfRangeException(nameof(connection), connection.Provider, "Unknown database provider."),
        };
    }

    /// <summary>Applies the provider's pending migrations to the database the connection names.</summary>
    /// <exception cref="DatabaseUnavailableException">The database cannot be reached or opened.</exception>
    public static async Task MigrateAsync(DatabaseConnection connection, CancellationToken cancellationToken = default)
    {
        CheckSqliteFolder(connection);
        await using var db = CreateDbContext(connection);
        await MigrateAsync(db, connection.ToString(), cancellationToken);
    }

    /// <summary>Applies pending migrations through the registered context factory (see <see cref="DataServiceCollectionExtensions.AddPersonaGymData"/>).</summary>
    /// <exception cref="DatabaseUnavailableException">The database cannot be reached or opened.</exception>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var connection = services.GetRequiredService<DatabaseConnection>();
        CheckSqliteFolder(connection);
        var factory = services.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>();
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        await MigrateAsync(db, connection.ToString(), cancellationToken);
    }

    /// <summary>
    /// Fails unless every migration is applied: a service whose role may not change the schema starts only once the
    /// migration step has run.
    /// </summary>
    /// <exception cref="DatabaseUnavailableException">The database cannot be reached, or its schema is behind.</exception>
    public static async Task RequireCurrentSchemaAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var connection = services.GetRequiredService<DatabaseConnection>();
        var factory = services.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>();
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        IReadOnlyList<string> pending;
        try
        {
            pending = [.. await db.Database.GetPendingMigrationsAsync(cancellationToken)];
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw new DatabaseUnavailableException($"Cannot open the PersonaGym database ({connection}): {e.Message}", e);
        }
        if (pending.Count > 0)
        {
            throw new DatabaseUnavailableException(
                $"The PersonaGym database ({connection}) lacks {pending.Count} migration(s), the first {pending[0]}: " +
                "run the migration step (`PersonaGym.Api migrate` with ConnectionStrings:personagym-owner) first.");
        }
    }

    /// <summary>An open PostgreSQL connection for the connection (from its data source when it has one); the caller disposes it.</summary>
    public static async Task<NpgsqlConnection> OpenPostgresAsync(DatabaseConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.Provider != DatabaseProvider.Postgres)
        {
            throw new ArgumentException($"{connection} is not a PostgreSQL database.", nameof(connection));
        }
        if (connection.PostgresDataSource is { } dataSource)
        {
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
        var opened = new NpgsqlConnection(connection.ConnectionString);
        try
        {
            await opened.OpenAsync(cancellationToken);
            return opened;
        }
        catch
        {
            await opened.DisposeAsync();
            throw;
        }
    }

    private static bool IsUnavailable(Exception e) =>
        e is NpgsqlException or SqliteException or SocketException or TimeoutException
        || e.InnerException is NpgsqlException or SqliteException or SocketException or TimeoutException;

    private static async Task MigrateAsync(PersonaGymDbContext db, string description, CancellationToken cancellationToken)
    {
        try
        {
            // An up-to-date database is left alone. On PostgreSQL, EF Core's Migrate would first try to create its
            // history table, which a role that may not change the schema (the services', docs/security.md) is refused
            // even when the table exists, so the CLI can work on the system's database as that role. On SQLite it
            // would take its migration lock and compare the model with the migrations' snapshot: a quarter of a
            // second of every CLI command's start (bench/README.md, sixth round). A SQLite file's WAL mode was
            // stored in it when it was created.
            if (!(await db.Database.GetPendingMigrationsAsync(cancellationToken)).Any()) return;
            await db.Database.MigrateAsync(cancellationToken);
            if (db.Database.IsSqlite())
            {
                // Write-ahead logging lets the local mode's readers run while a stage writes; the mode is stored in the file.
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new DatabaseUnavailableException(
                $"The PersonaGym database ({description}) needs migrations its role may not apply ({e.MessageText}): " +
                "run the migration step with the schema owner's connection string (docs/security.md).", e);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw new DatabaseUnavailableException($"Cannot open the PersonaGym database ({description}): {e.Message}", e);
        }
    }

    private static void CheckSqliteFolder(DatabaseConnection connection)
    {
        if (connection.Provider != DatabaseProvider.Sqlite) return;
        var file = new SqliteConnectionStringBuilder(connection.ConnectionString).DataSource;
        var folder = Path.GetDirectoryName(Path.GetFullPath(file));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new DatabaseUnavailableException(
                $"Cannot open the PersonaGym database ({connection}): the folder '{folder}' does not exist.");
        }
    }
}
