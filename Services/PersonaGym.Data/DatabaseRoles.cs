using Npgsql;

namespace PersonaGym.Data;

/// <summary>A PostgreSQL login role and its password.</summary>
public sealed record DatabaseLogin(string Role, string Password)
{
    /// <summary>Never shows the password.</summary>
    public override string ToString() => Role;
}

/// <summary>
/// The two PostgreSQL roles of a PersonaGym database (issue 10's least privilege): the <em>owner</em>, which owns the
/// database and its schema and is used only by the migration step, and the <em>service</em> role the Api and the
/// workers log in as, which may read and write rows but not change the schema, create roles or databases.
/// The SQL is the same as <c>scripts/postgres-roles.sql</c>, which an operator runs on an external server.
/// </summary>
public static class DatabaseRoles
{
    /// <summary>The schema EF Core's migrations create their tables in.</summary>
    public const string Schema = "public";

    /// <summary>
    /// Creates (or updates the passwords of) both roles, hands the database and its schema to the owner and lets the
    /// service role connect. Run as a superuser (the AppHost's local server and container). Idempotent: a database
    /// whose tables a superuser created (before the roles existed) has them handed to the owner.
    /// </summary>
    /// <param name="superuserConnectionString">A superuser's connection string; its Database is ignored.</param>
    public static async Task EnsureAsync(
        string superuserConnectionString, string database, DatabaseLogin owner, DatabaseLogin service, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(service);
        if (owner.Role == service.Role) throw new ArgumentException("The owner and the service role must differ.", nameof(service));

        var server = new NpgsqlConnectionStringBuilder(superuserConnectionString) { Database = "postgres" }.ConnectionString;
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync(cancellationToken);
            foreach (var login in new[] { owner, service })
            {
                await EnsureLoginAsync(connection, login, cancellationToken);
            }
            await ExecuteAsync(connection, $"ALTER DATABASE {Quote(database)} OWNER TO {Quote(owner.Role)}", cancellationToken);
            // Only the two roles (and superusers) may connect: PUBLIC's default CONNECT would let any role in.
            await ExecuteAsync(connection, $"REVOKE ALL ON DATABASE {Quote(database)} FROM PUBLIC", cancellationToken);
            await ExecuteAsync(connection, $"GRANT CONNECT ON DATABASE {Quote(database)} TO {Quote(service.Role)}", cancellationToken);
        }

        var inDatabase = new NpgsqlConnectionStringBuilder(superuserConnectionString) { Database = database }.ConnectionString;
        await using (var connection = new NpgsqlConnection(inDatabase))
        {
            await connection.OpenAsync(cancellationToken);
            await ExecuteAsync(connection, $"ALTER SCHEMA {Schema} OWNER TO {Quote(owner.Role)}", cancellationToken);
            // Before PostgreSQL 15 every role may create objects in public; from 15 on this changes nothing.
            await ExecuteAsync(connection, $"REVOKE CREATE ON SCHEMA {Schema} FROM PUBLIC", cancellationToken);
            await HandObjectsToOwnerAsync(connection, owner.Role, cancellationToken);
        }
    }

    /// <summary>
    /// Grants the service role what the services need on everything in the schema, and the same on what later
    /// migrations create (default privileges of the role running this). Run by the migration step as the owner,
    /// after the migrations; idempotent.
    /// </summary>
    public static async Task GrantServiceAccessAsync(NpgsqlConnection ownerConnection, string serviceRole, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ownerConnection);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceRole);
        var role = Quote(serviceRole);
        string[] statements =
        [
            $"GRANT USAGE ON SCHEMA {Schema} TO {role}",
            $"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {Schema} TO {role}",
            $"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {Schema} TO {role}",
            // Tables and sequences the owner creates later (the next release's migrations) are covered at creation.
            $"ALTER DEFAULT PRIVILEGES IN SCHEMA {Schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            $"ALTER DEFAULT PRIVILEGES IN SCHEMA {Schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ];
        foreach (var statement in statements)
        {
            await ExecuteAsync(ownerConnection, statement, cancellationToken);
        }
    }

    /// <summary>Whether a role of that name exists on the server.</summary>
    public static async Task<bool> ExistsAsync(NpgsqlConnection connection, string role, CancellationToken cancellationToken = default)
    {
        await using var command = new NpgsqlCommand("SELECT 1 FROM pg_roles WHERE rolname = @role", connection);
        command.Parameters.AddWithValue("role", role);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Quotes an identifier (role, database) for SQL that takes no parameters there.</summary>
    public static string Quote(string identifier)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(identifier);
        if (identifier.Contains('\0')) throw new ArgumentException("An identifier cannot contain NUL.", nameof(identifier));
        return "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    private static async Task EnsureLoginAsync(NpgsqlConnection connection, DatabaseLogin login, CancellationToken cancellationToken)
    {
        var verb = await ExistsAsync(connection, login.Role, cancellationToken) ? "ALTER" : "CREATE";
        // Roles and passwords take no parameters in DDL; the password is a quoted literal (standard strings are on).
        var password = "'" + login.Password.Replace("'", "''", StringComparison.Ordinal) + "'";
        if (login.Password.Contains('\0')) throw new ArgumentException("A password cannot contain NUL.", nameof(login));
        await ExecuteAsync(connection,
            $"{verb} ROLE {Quote(login.Role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {password}",
            cancellationToken);
    }

    private static async Task HandObjectsToOwnerAsync(NpgsqlConnection connection, string owner, CancellationToken cancellationToken)
    {
        // Tables (their identity sequences follow them), views and free-standing sequences in the schema.
        await using var command = new NpgsqlCommand(
            """
            SELECT c.relkind::text, c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = @schema AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
              AND pg_get_userbyid(c.relowner) <> @owner
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
            """, connection);
        command.Parameters.AddWithValue("schema", Schema);
        command.Parameters.AddWithValue("owner", owner);
        var objects = new List<(string Kind, string Name)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken)) objects.Add((reader.GetString(0), reader.GetString(1)));
        }
        foreach (var (kind, name) in objects)
        {
            var what = kind switch { "v" => "VIEW", "m" => "MATERIALIZED VIEW", "S" => "SEQUENCE", _ => "TABLE" };
            await ExecuteAsync(connection, $"ALTER {what} {Schema}.{Quote(name)} OWNER TO {Quote(owner)}", cancellationToken);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
