using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using PersonaGym.Data;

namespace PersonaGym.AppHost;

/// <summary>
/// A login to the PersonaGym database as one of its two roles (<see cref="DatabaseRoles"/>): what a service references
/// instead of the superuser's connection string. Its state turns Running once the AppHost has created the role.
/// </summary>
/// <param name="maxPoolSize">The <c>Maximum Pool Size</c> of each process that logs in, when the pools must share the server.</param>
public sealed class PostgresLoginResource(
    string name, ReferenceExpression serverAddress, string databaseName, string role, ParameterResource password, int? maxPoolSize = null)
    : Resource(name), IResourceWithConnectionString
{
    public string Role { get; } = role;

    public ParameterResource Password { get; } = password;

    public int? MaxPoolSize { get; } = maxPoolSize;

    public ReferenceExpression ConnectionStringExpression => MaxPoolSize is { } pool
        ? ReferenceExpression.Create(
            $"{serverAddress};Username={Role};Password={Password};Database={databaseName};Maximum Pool Size={pool.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
        : ReferenceExpression.Create($"{serverAddress};Username={Role};Password={Password};Database={databaseName}");
}

/// <summary>The two logins of the PersonaGym database: the schema's owner (migration step) and the services' role.</summary>
public sealed record PersonaGymDatabaseLogins(
    IResourceBuilder<PostgresLoginResource> Owner,
    IResourceBuilder<PostgresLoginResource> Service);

public static class DatabaseLoginExtensions
{
    /// <summary>The role that owns the schema; only the migration step logs in as it.</summary>
    public const string OwnerRole = "personagym_owner";

    /// <summary>The role the Api and the workers log in as: rows only, no schema changes, no roles.</summary>
    public const string ServiceRole = "personagym_service";

    public const string OwnerPasswordParameter = "postgres-owner-password";
    public const string ServicePasswordParameter = "postgres-service-password";

    /// <summary>
    /// Adds the owner and service logins (<c>personagym-owner</c> and <c>personagym</c>, the connection string names the
    /// migration step and the services read) for a database this AppHost runs. Once the database is ready the AppHost,
    /// as the server's superuser, creates both roles with their passwords (parameters, generated and kept in the
    /// AppHost's user secrets unless set) and hands the database to the owner.
    /// </summary>
    /// <param name="database">The database resource, whose own connection string is the superuser's.</param>
    /// <param name="serverAddress">The server's <c>Host=…;Port=…</c>.</param>
    /// <param name="servicePoolSize">Each service replica's pool (<see cref="ConnectionBudget"/>); the migration step's is Npgsql's default.</param>
    public static PersonaGymDatabaseLogins AddDatabaseLogins<TDatabase>(
        this IDistributedApplicationBuilder builder, IResourceBuilder<TDatabase> database, ReferenceExpression serverAddress, string databaseName,
        int servicePoolSize)
        where TDatabase : IResourceWithConnectionString
    {
        var owner = builder.AddLogin(StageConnectionNames.Owner, database, serverAddress, databaseName, OwnerRole, OwnerPasswordParameter, null);
        var service = builder.AddLogin(StageConnectionNames.Service, database, serverAddress, databaseName, ServiceRole, ServicePasswordParameter, servicePoolSize);

        builder.Eventing.Subscribe<ResourceReadyEvent>(database.Resource, async (@event, ct) =>
        {
            var notifications = @event.Services.GetRequiredService<ResourceNotificationService>();
            var logger = @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PersonaGym.DatabaseLogins");
            try
            {
                var superuser = await database.Resource.ConnectionStringExpression.GetValueAsync(ct)
                    ?? throw new DistributedApplicationException($"{database.Resource.Name} has no connection string.");
                await DatabaseRoles.EnsureAsync(superuser, databaseName,
                    new DatabaseLogin(OwnerRole, await RequiredValueAsync(owner.Resource.Password, ct)),
                    new DatabaseLogin(ServiceRole, await RequiredValueAsync(service.Resource.Password, ct)),
                    ct);
                foreach (var login in new[] { owner.Resource, service.Resource })
                {
                    await notifications.PublishUpdateAsync(login, snapshot => snapshot with
                    {
                        State = KnownResourceStates.Running,
                        StartTimeStamp = DateTime.UtcNow,
                    });
                }
            }
            catch (Exception exception) when (exception is NpgsqlException or DistributedApplicationException or ArgumentException)
            {
                logger.LogError(exception, "Could not create the roles {Owner} and {Service} on {Database}", OwnerRole, ServiceRole, databaseName);
                foreach (var login in new[] { owner.Resource, service.Resource })
                {
                    await notifications.PublishUpdateAsync(login, snapshot => snapshot with
                    {
                        State = new ResourceStateSnapshot(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error),
                    });
                }
            }
        });

        return new PersonaGymDatabaseLogins(owner, service);
    }

    /// <summary>
    /// The migration step (<c>PersonaGym.Api migrate</c>) as a resource that runs once: as the owner, it applies the
    /// migrations and grants the service role access. The Api starts after it has completed.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddMigrationStep(
        this IDistributedApplicationBuilder builder, string name, PersonaGymInfrastructure infrastructure)
    {
        var migrations = builder.AddProject<Projects.PersonaGym_Api>(name, options => options.ExcludeLaunchProfile = true)
            .WithArgs("migrate");
        if (infrastructure.Owner is { } owner)
        {
            migrations.WithReference(owner);
            if (infrastructure.Mode != InfrastructureMode.External) migrations.WaitFor(owner);
        }
        else
        {
            // An external database without an owner's connection string: the services' one must then own the schema.
            migrations.WithReference(infrastructure.Database);
        }
        if (infrastructure.ServiceRole is { } role)
        {
            migrations.WithEnvironment("PersonaGym__Database__ServiceRole", role);
        }
        return migrations;
    }

    /// <summary>The Api's schema comes from <paramref name="migrations"/>: it starts once that has completed, and does not migrate itself.</summary>
    public static IResourceBuilder<ProjectResource> WithSchemaFrom(
        this IResourceBuilder<ProjectResource> api, IResourceBuilder<ProjectResource> migrations) =>
        api.WithEnvironment("PersonaGym__Database__MigrateAtStart", "false").WaitForCompletion(migrations);

    private static IResourceBuilder<PostgresLoginResource> AddLogin<TDatabase>(
        this IDistributedApplicationBuilder builder, string name, IResourceBuilder<TDatabase> database, ReferenceExpression serverAddress,
        string databaseName, string role, string passwordParameter, int? maxPoolSize)
        where TDatabase : IResourceWithConnectionString
    {
        var password = string.IsNullOrWhiteSpace(builder.Configuration[$"Parameters:{passwordParameter}"])
            ? builder.AddParameter(passwordParameter, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true)
            : builder.AddParameter(passwordParameter, secret: true);
        var login = new PostgresLoginResource(name, serverAddress, databaseName, role, password.Resource, maxPoolSize);

        var healthCheck = $"{name}-login-accepted";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, ct => CanLogInAsync(login, ct));

        return builder.AddResource(login)
            .WithHealthCheck(healthCheck)
            .WithParentRelationship(database.Resource)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "PostgresLogin",
                State = KnownResourceStates.Waiting,
                Properties = [new ResourcePropertySnapshot(CustomResourceKnownProperties.Source, database.Resource.Name)],
            })
            // In a published manifest the login is a connection string value, like Aspire's own databases.
            .WithManifestPublishingCallback(context =>
            {
                context.Writer.WriteString("type", "value.v0");
                context.Writer.WriteString("connectionString", login.ConnectionStringExpression.ValueExpression);
            });
    }

    private static async Task<string> RequiredValueAsync(ParameterResource parameter, CancellationToken ct) =>
        await parameter.GetValueAsync(ct) is { Length: > 0 } value
            ? value
            : throw new DistributedApplicationException($"The parameter {parameter.Name} has no value.");

    private static async Task<HealthCheckResult> CanLogInAsync(PostgresLoginResource login, CancellationToken ct)
    {
        try
        {
            var connectionString = new NpgsqlConnectionStringBuilder(await login.ConnectionStringExpression.GetValueAsync(ct))
            {
                // No pool: an idle pooled connection held by the AppHost would delay the server's shutdown.
                Pooling = false,
                Timeout = 3,
            }.ConnectionString;
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(ct);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or InvalidOperationException or ArgumentException)
        {
            return HealthCheckResult.Unhealthy(exception.Message);
        }
    }
}

/// <summary>The connection string names the AppHost hands out for the database (those the services read).</summary>
public static class StageConnectionNames
{
    /// <summary>The services' login (PersonaGym.Hosting's <c>DatabaseConnectionName</c>).</summary>
    public const string Service = "personagym";

    /// <summary>The schema owner's login, read by the migration step only (<c>OwnerConnectionName</c>).</summary>
    public const string Owner = "personagym-owner";
}
