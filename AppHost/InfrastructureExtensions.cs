using PersonaGym.AppHost.LocalInfrastructure;

namespace PersonaGym.AppHost;

/// <summary>Where Postgres and RabbitMQ come from (<c>Infrastructure:Mode</c>).</summary>
public enum InfrastructureMode
{
    /// <summary>Containers when a container runtime answers, otherwise local processes.</summary>
    Auto,
    /// <summary>Postgres and RabbitMQ containers with data volumes.</summary>
    Containers,
    /// <summary>The installed <c>postgres</c> and <c>rabbitmq-server</c>, run by the AppHost on free loopback ports.</summary>
    Local,
    /// <summary>
    /// Existing servers, named by <c>ConnectionStrings:personagym</c> (the services' role),
    /// <c>ConnectionStrings:personagym-owner</c> (the schema owner, for the migration step; optional) and
    /// <c>ConnectionStrings:rabbitmq</c>. <c>scripts/postgres-roles.sql</c> creates the two roles.
    /// </summary>
    External,
}

/// <summary>
/// The database and the message broker the services reference. Whatever the mode, the services see
/// the same two connection strings: <c>ConnectionStrings__personagym</c> (as the database's service role, which may
/// not change the schema) and <c>ConnectionStrings__rabbitmq</c>. <paramref name="Owner"/> is the schema owner's login,
/// for the migration step only (null: an external database named by one connection string).
/// </summary>
public sealed record PersonaGymInfrastructure(
    InfrastructureMode Mode,
    IResourceBuilder<IResourceWithConnectionString> Database,
    IResourceBuilder<IResourceWithConnectionString> Messaging,
    IResourceBuilder<IResourceWithConnectionString>? Owner,
    string? ServiceRole);

public static class InfrastructureExtensions
{
    public const string DatabaseName = "personagym";
    /// <summary>The database resource itself (its connection string is the server superuser's, for the AppHost only).</summary>
    public const string DatabaseResourceName = "personagym-database";
    public const string MessagingName = "rabbitmq";
    public const string PostgresServerName = "postgres";

    public static PersonaGymInfrastructure AddPersonaGymInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var mode = builder.ResolveInfrastructureMode();

        return mode switch
        {
            InfrastructureMode.Containers => builder.AddContainerInfrastructure(),
            InfrastructureMode.Local => builder.AddLocalInfrastructure(),
            InfrastructureMode.External => builder.AddExternalInfrastructure(),
            _ => throw new DistributedApplicationException($"Unknown infrastructure mode {mode}."),
        };
    }

    /// <summary>References both connection strings and starts the service only once both are healthy.</summary>
    public static IResourceBuilder<T> WithInfrastructure<T>(this IResourceBuilder<T> service, PersonaGymInfrastructure infrastructure)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        service.WithReference(infrastructure.Database).WithReference(infrastructure.Messaging);

        // Existing servers have no lifecycle in this app model: there is nothing to wait for.
        if (infrastructure.Mode != InfrastructureMode.External)
        {
            service.WaitFor(infrastructure.Database).WaitFor(infrastructure.Messaging);
        }

        return service;
    }

    private static InfrastructureMode ResolveInfrastructureMode(this IDistributedApplicationBuilder builder)
    {
        var configured = builder.Configuration["Infrastructure:Mode"];
        var mode = InfrastructureMode.Auto;
        if (!string.IsNullOrWhiteSpace(configured) && !Enum.TryParse(configured, ignoreCase: true, out mode))
        {
            throw new DistributedApplicationException(
                $"Infrastructure:Mode '{configured}' is not one of: auto, containers, local, external.");
        }

        if (mode != InfrastructureMode.Auto)
        {
            return mode;
        }

        // A published manifest describes the deployment, where Postgres and RabbitMQ are containers
        // (or their Azure equivalents): never the processes of the machine that publishes it.
        if (builder.ExecutionContext.IsPublishMode)
        {
            return InfrastructureMode.Containers;
        }

        return ContainerRuntimeProbe.IsAvailable() ? InfrastructureMode.Containers : InfrastructureMode.Local;
    }

    private static PersonaGymInfrastructure AddContainerInfrastructure(this IDistributedApplicationBuilder builder)
    {
        // The image's default of 100 connections is less than the services' pools together (ConnectionBudget).
        var postgres = builder.AddPostgres(PostgresServerName)
            .WithArgs("-c", $"max_connections={ConnectionBudget.ServerConnections.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        // A user of its own, not the image's guest (whose password Aspire would generate), as the local broker.
        var brokerUser = builder.AddParameter($"{MessagingName}-user", "personagym", publishValueAsDefault: true);
        var messaging = builder.AddRabbitMQ(MessagingName, userName: brokerUser).WithManagementPlugin();

        // Data volumes keep local data across restarts. A published manifest has none: a deployment would turn them
        // into network file shares, on which PostgreSQL's initdb and RabbitMQ's Erlang cookie fail (the Azure route
        // uses a managed PostgreSQL and a broker whose state is disposable, docs/deployment.md).
        if (!builder.ExecutionContext.IsPublishMode)
        {
            postgres.WithDataVolume();
            messaging.WithDataVolume();
        }

        var database = postgres.AddDatabase(DatabaseResourceName, DatabaseName);
        var endpoint = postgres.Resource.PrimaryEndpoint;
        var logins = builder.AddDatabaseLogins(database,
            ReferenceExpression.Create($"Host={endpoint.Property(EndpointProperty.Host)};Port={endpoint.Property(EndpointProperty.Port)}"),
            DatabaseName, ConnectionBudget.PoolSize(StageReplicas.From(builder.Configuration)));

        return new PersonaGymInfrastructure(InfrastructureMode.Containers, logins.Service, messaging, logins.Owner, DatabaseLoginExtensions.ServiceRole);
    }

    private static PersonaGymInfrastructure AddExternalInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var database = builder.AddConnectionString(StageConnectionNames.Service);
        var messaging = builder.AddConnectionString(MessagingName);
        // The owner's login is optional: without it the migration step uses the services' connection string.
        var owner = string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(StageConnectionNames.Owner))
            ? null
            : builder.AddConnectionString(StageConnectionNames.Owner);
        var serviceRole = owner is null ? null : ServiceRoleOf(builder.Configuration.GetConnectionString(StageConnectionNames.Service));
        return new PersonaGymInfrastructure(InfrastructureMode.External, database, messaging, owner, serviceRole);
    }

    /// <summary>The role a connection string logs in as, granted access by the migration step.</summary>
    private static string? ServiceRoleOf(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) return null;
        try
        {
            return new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Username;
        }
        catch (ArgumentException e)
        {
            throw new DistributedApplicationException($"ConnectionStrings:{StageConnectionNames.Service} is not a valid PostgreSQL connection string: {e.Message}");
        }
    }

    private static PersonaGymInfrastructure AddLocalInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var settings = LocalInfrastructureSettings.From(builder);

        // Both servers are looked for before either writes a file, and one message names everything missing.
        var postgres = LocalPostgresExtensions.FindBinaries(settings, out var postgresProblem);
        var rabbitmq = LocalRabbitMQExtensions.FindBinaries(settings, out var rabbitmqProblem);
        if (postgres is null || rabbitmq is null)
        {
            var problems = string.Join(". ", new[] { postgresProblem, rabbitmqProblem }.Where(p => p is not null));
            throw new DistributedApplicationException(
                $"{problems}. scripts/up.sh installs what is missing; or choose another Infrastructure:Mode.");
        }

        var database = builder.AddLocalPostgres(PostgresServerName, DatabaseResourceName, DatabaseName, settings, postgres);
        var logins = builder.AddDatabaseLogins(database,
            ReferenceExpression.Create($"Host=127.0.0.1;Port={database.Resource.Parent.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}"),
            DatabaseName, ConnectionBudget.PoolSize(StageReplicas.From(builder.Configuration)));
        var messaging = builder.AddLocalRabbitMQ(MessagingName, settings, rabbitmq);

        return new PersonaGymInfrastructure(InfrastructureMode.Local, logins.Service, messaging, logins.Owner, DatabaseLoginExtensions.ServiceRole);
    }
}
