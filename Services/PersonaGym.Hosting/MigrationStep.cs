using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using PersonaGym.Data;

namespace PersonaGym.Hosting;

/// <summary>
/// The one place the schema changes: applies the migrations as the schema's owner
/// (<c>ConnectionStrings:personagym-owner</c>), then grants the services' role
/// (<c>PersonaGym:Database:ServiceRole</c>) what it needs on every table, present and future. The AppHost runs it as
/// the <c>migrations</c> resource before the Api starts; in Azure it is the Api's init container. Run it with
/// <c>PersonaGym.Api migrate</c>; it exits 0 when the schema is current, 1 with the reason otherwise.
/// </summary>
public static class MigrationStep
{
    /// <summary>The Api's first argument that runs this step instead of the Api.</summary>
    public const string Command = "migrate";

    /// <summary>The role the Api and the workers log in as; granted access after the migrations. Unset: no grants.</summary>
    public const string ServiceRoleKey = "PersonaGym:Database:ServiceRole";

    /// <summary>
    /// True on Azure Database for PostgreSQL with Entra authentication: the step (logged in as an Entra
    /// administrator) first creates <see cref="ServiceRoleKey"/> as the role of the managed identity of that name.
    /// </summary>
    public const string CreateEntraPrincipalKey = "PersonaGym:Database:CreateEntraPrincipal";

    /// <summary>
    /// Whether the Api applies the migrations itself at start (true when unset: one Api on one database with an owner's
    /// connection string). The AppHost and the Azure deployment set it to false and run this step instead; the Api then
    /// only checks that the schema is current.
    /// </summary>
    public const string MigrateAtStartKey = "PersonaGym:Database:MigrateAtStart";

    public static bool IsRequested(string[] args) => args is [Command, ..];

    public static bool MigratesAtStart(IConfiguration configuration) => configuration.GetValue(MigrateAtStartKey, true);

    /// <summary>Runs the step as a process of its own: configuration from the usual sources, logs to the console.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args[1..]);
        using var host = builder.Build();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PersonaGym.Migrations");
        using var stopping = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopping.Cancel(); };
        try
        {
            await ApplyAsync(builder.Configuration, logger, stopping.Token);
            return 0;
        }
        catch (Exception e) when (e is DatabaseUnavailableException or InvalidOperationException or NpgsqlException or ArgumentException)
        {
            // The message names the database without its password (DatabaseConnection.ToString) and says why.
            logger.LogError("The migration step failed: {Reason}", e.Message);
            return 1;
        }
    }

    /// <summary>Applies the migrations and the grants; see the class summary.</summary>
    public static async Task ApplyAsync(IConfiguration configuration, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(logger);
        var ownerConnectionString = configuration.GetConnectionString(StageHostingExtensions.OwnerConnectionName);
        if (string.IsNullOrWhiteSpace(ownerConnectionString))
        {
            ownerConnectionString = configuration.GetConnectionString(StageHostingExtensions.DatabaseConnectionName);
            if (string.IsNullOrWhiteSpace(ownerConnectionString))
            {
                throw new InvalidOperationException(
                    $"ConnectionStrings:{StageHostingExtensions.OwnerConnectionName} (the schema owner's connection string) is not set.");
            }
            logger.LogWarning(
                "ConnectionStrings:{Owner} is not set: the migrations run with ConnectionStrings:{Service}, whose role must then own the schema (docs/security.md)",
                StageHostingExtensions.OwnerConnectionName, StageHostingExtensions.DatabaseConnectionName);
        }

        var owner = DatabaseAuthentication.Connect(configuration, ownerConnectionString);
        try
        {
            var serviceRole = configuration[ServiceRoleKey];
            if (configuration.GetValue<bool>(CreateEntraPrincipalKey))
            {
                if (string.IsNullOrWhiteSpace(serviceRole))
                {
                    throw new InvalidOperationException($"{CreateEntraPrincipalKey} is true but {ServiceRoleKey} names no role.");
                }
                await EnsureEntraPrincipalAsync(owner, serviceRole, logger, cancellationToken);
            }

            logger.LogInformation("Applying migrations to {Database}", owner);
            await PersonaGymDatabase.MigrateAsync(owner, cancellationToken);

            if (!string.IsNullOrWhiteSpace(serviceRole))
            {
                await using var connection = await OpenAsync(owner, cancellationToken);
                await DatabaseRoles.GrantServiceAccessAsync(connection, serviceRole, cancellationToken);
                logger.LogInformation("The role {Role} may read and write every PersonaGym table", serviceRole);
            }
        }
        finally
        {
            if (owner.PostgresDataSource is { } dataSource) await dataSource.DisposeAsync();
        }
    }

    /// <summary>
    /// Azure's <c>pgaadauth_create_principal</c> maps a role to the managed identity of that name (no admin, no
    /// member of azure_pg_admin); it must be called by an Entra administrator.
    /// </summary>
    private static async Task EnsureEntraPrincipalAsync(DatabaseConnection owner, string role, ILogger logger, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(owner, cancellationToken);
        if (await DatabaseRoles.ExistsAsync(connection, role, cancellationToken)) return;
        await using var create = new NpgsqlCommand("SELECT * FROM pgaadauth_create_principal(@role, false, false)", connection);
        create.Parameters.AddWithValue("role", role);
        await create.ExecuteNonQueryAsync(cancellationToken);
        logger.LogInformation("Created the Entra role {Role} for the services' managed identity", role);
    }

    private static async Task<NpgsqlConnection> OpenAsync(DatabaseConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            return await PersonaGymDatabase.OpenPostgresAsync(connection, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw new DatabaseUnavailableException($"Cannot open the PersonaGym database ({connection}): {e.Message}", e);
        }
    }
}
