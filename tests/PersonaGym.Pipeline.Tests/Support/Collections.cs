using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests.Support;

[CollectionDefinition(PostgresServer.Collection)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;

/// <summary>Tests that need both servers: the whole pipeline over a real broker.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresAndRabbitMqCollection : ICollectionFixture<PostgresServer>, ICollectionFixture<RabbitMqServer>
{
    public const string Name = "PostgreSQL and RabbitMQ";
}
