using Npgsql;
using PersonaGym.Testing;

namespace PersonaGym.Data.Tests;

/// <summary>
/// A test database laid out as the AppHost lays out its own: an owner role that owns the schema and applied the
/// migrations, and a service role (the one the Api and the workers log in as) with only row rights.
/// Role names are unique per database, since roles belong to the whole server.
/// </summary>
public sealed record ServiceRoleDatabase(string Name, string SuperuserConnectionString, DatabaseLogin Owner, DatabaseLogin Service)
{
    public string OwnerConnectionString => As(Owner);

    public string ServiceConnectionString => As(Service);

    /// <summary>The services' connection: the role the tests of this layout log in as.</summary>
    public DatabaseConnection ServiceConnection => new(DatabaseProvider.Postgres, ServiceConnectionString);

    /// <summary>Creates the database and both roles, and migrates it as the owner (granting the service role its rights).</summary>
    public static async Task<ServiceRoleDatabase> CreateMigratedAsync(PostgresServer server)
    {
        var superuser = await server.CreateDatabaseAsync();
        var name = new NpgsqlConnectionStringBuilder(superuser).Database!;
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var database = new ServiceRoleDatabase(name, superuser,
            new DatabaseLogin($"owner_{suffix}", Secret()),
            new DatabaseLogin($"service_{suffix}", Secret()));
        await DatabaseRoles.EnsureAsync(superuser, name, database.Owner, database.Service);
        await database.MigrateAsOwnerAsync();
        return database;
    }

    /// <summary>What the migration step does: the migrations as the owner, then the service role's grants.</summary>
    public async Task MigrateAsOwnerAsync()
    {
        await PersonaGymDatabase.MigrateAsync(new DatabaseConnection(DatabaseProvider.Postgres, OwnerConnectionString));
        await using var owner = new NpgsqlConnection(OwnerConnectionString);
        await owner.OpenAsync();
        await DatabaseRoles.GrantServiceAccessAsync(owner, Service.Role);
    }

    private string As(DatabaseLogin login) => new NpgsqlConnectionStringBuilder(SuperuserConnectionString)
    {
        Username = login.Role,
        Password = login.Password,
        MaxPoolSize = 10,
    }.ConnectionString;

    private static string Secret() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
}
