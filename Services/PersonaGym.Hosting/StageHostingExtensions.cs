using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Messaging;

namespace PersonaGym.Hosting;

public static class StageHostingExtensions
{
    /// <summary>The name of the database connection string every service reads (the AppHost hands it out).</summary>
    public const string DatabaseConnectionName = "personagym";

    /// <summary>
    /// The connection string of the schema's owner, read only by the migration step (<see cref="MigrationStep"/>):
    /// the services' own role may not change the schema.
    /// </summary>
    public const string OwnerConnectionName = "personagym-owner";

    /// <summary>The name of the RabbitMQ connection string every service reads.</summary>
    public const string RabbitMqConnectionName = "rabbitmq";

    /// <summary>
    /// Setting that puts the bus on MassTransit's in-memory transport instead of RabbitMQ (tests, and running one
    /// service alone against a database). Nothing outside the process can reach an in-memory bus, so such a process
    /// hosts every stage itself, whatever stages it asked for: otherwise its messages would never be consumed.
    /// </summary>
    public const string InMemoryMessagingKey = "PersonaGym:Messaging:InMemory";

    /// <summary>
    /// Hosts the given pipeline stages as a service of the distributed system: Postgres through the Aspire Npgsql
    /// integration (retries, health check, telemetry), MassTransit on RabbitMQ with the stages' fixed queue names.
    /// Services never know whether the servers are containers, local processes or managed ones.
    /// </summary>
    public static TBuilder AddPersonaGymStages<TBuilder>(this TBuilder builder, PipelineStages stages)
        where TBuilder : IHostApplicationBuilder
    {
        var database = builder.Configuration.GetConnectionString(DatabaseConnectionName);
        var rabbitMq = builder.Configuration.GetConnectionString(RabbitMqConnectionName);
        var inMemory = builder.Configuration.GetValue<bool>(InMemoryMessagingKey);
        if (string.IsNullOrWhiteSpace(database) || (string.IsNullOrWhiteSpace(rabbitMq) && !inMemory))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{DatabaseConnectionName} and ConnectionStrings:{RabbitMqConnectionName} must both be set " +
                "(the AppHost sets them; run the system with `dotnet run --project AppHost`).");
        }

        // The password in the connection string, or an Entra token for the managed identity (DatabaseAuthentication).
        builder.Services.AddPersonaGymData(DatabaseAuthentication.Connect(builder.Configuration, database));
        builder.EnrichNpgsqlDbContext<PostgresPersonaGymDbContext>();
        builder.Services.AddPersonaGymPipeline(
            builder.Configuration,
            inMemory ? PipelineStages.All : stages,
            inMemory ? null : rabbitMq);
        if (!inMemory)
        {
            // The Aspire RabbitMQ client integration: its health check (on /health) turns the service unhealthy while the
            // broker is unreachable, and its telemetry joins the service's. MassTransit keeps its own connection.
            builder.AddRabbitMQClient(RabbitMqConnectionName);
        }

        return builder;
    }
}
