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
    /// <summary>Existing servers, named by <c>ConnectionStrings:personagym</c> and <c>ConnectionStrings:rabbitmq</c>.</summary>
    External,
}

/// <summary>
/// The database and the message broker the services reference. Whatever the mode, the services see
/// the same two connection strings: <c>ConnectionStrings__personagym</c> and <c>ConnectionStrings__rabbitmq</c>.
/// </summary>
public sealed record PersonaGymInfrastructure(
    InfrastructureMode Mode,
    IResourceBuilder<IResourceWithConnectionString> Database,
    IResourceBuilder<IResourceWithConnectionString> Messaging);

public static class InfrastructureExtensions
{
    public const string DatabaseName = "personagym";
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
        var postgres = builder.AddPostgres(PostgresServerName);
        var messaging = builder.AddRabbitMQ(MessagingName).WithManagementPlugin();

        // Data volumes keep local data across restarts. A published manifest has none: a deployment would turn them
        // into network file shares, on which PostgreSQL's initdb and RabbitMQ's Erlang cookie fail (the Azure route
        // uses a managed PostgreSQL and a broker whose state is disposable, docs/deployment.md).
        if (!builder.ExecutionContext.IsPublishMode)
        {
            postgres.WithDataVolume();
            messaging.WithDataVolume();
        }

        var database = postgres.AddDatabase(DatabaseName);

        return new PersonaGymInfrastructure(InfrastructureMode.Containers, database, messaging);
    }

    private static PersonaGymInfrastructure AddExternalInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var database = builder.AddConnectionString(DatabaseName);
        var messaging = builder.AddConnectionString(MessagingName);
        return new PersonaGymInfrastructure(InfrastructureMode.External, database, messaging);
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

        var database = builder.AddLocalPostgres(PostgresServerName, DatabaseName, settings, postgres);
        var messaging = builder.AddLocalRabbitMQ(MessagingName, settings, rabbitmq);

        return new PersonaGymInfrastructure(InfrastructureMode.Local, database, messaging);
    }
}
