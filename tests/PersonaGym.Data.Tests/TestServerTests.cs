using Npgsql;
using PersonaGym.Testing;

namespace PersonaGym.Data.Tests;

[Collection(PostgresServer.Collection)]
public sealed class PostgresServerTests(PostgresServer server)
{
    [Fact]
    public async Task Each_created_database_is_a_separate_empty_database()
    {
        var first = new NpgsqlConnectionStringBuilder(await server.CreateDatabaseAsync());
        var second = new NpgsqlConnectionStringBuilder(await server.CreateDatabaseAsync());
        Assert.NotEqual(first.Database, second.Database);

        await using var connection = new NpgsqlConnection(first.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_database()", connection);
        Assert.Equal(first.Database, await command.ExecuteScalarAsync());
    }
}

[Collection(RabbitMqServer.Collection)]
public sealed class RabbitMqServerTests(RabbitMqServer server)
{
    [Fact]
    public async Task The_broker_accepts_amqp_connections_at_its_uri()
    {
        Assert.Equal("amqp", server.AmqpUri.Scheme);
        Assert.True(await RabbitMqServer.AnswersAmqpAsync(server.AmqpUri.Host, server.AmqpUri.Port));
    }
}
