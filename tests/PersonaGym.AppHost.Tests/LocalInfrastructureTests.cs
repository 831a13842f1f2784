using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using PersonaGym.AppHost.LocalInfrastructure;
using RabbitMQ.Client;

namespace PersonaGym.AppHost.Tests;

[Collection(SystemCollection.Name)]
public sealed class LocalInfrastructureTests(LocalInfrastructureAppFixture fixture) : IClassFixture<LocalInfrastructureAppFixture>
{
    [Fact]
    public async Task EveryResourceIsHealthyAfterStart()
    {
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        // The fixture already waited; a resource that fell back to unhealthy since then fails here.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        foreach (var name in LocalInfrastructureAppFixture.ResourceNames)
        {
            // By name, so every replica of 'judge' counts.
            var resourceEvent = await notifications.WaitForResourceHealthyAsync(name, timeout.Token);
            Assert.Equal(HealthStatus.Healthy, resourceEvent.Snapshot.HealthStatus);
        }
    }

    [Fact]
    public void PostgresDataLivesWhereThePostgresAccountCanReachIt()
    {
        var server = fixture.App.Services.GetRequiredService<DistributedApplicationModel>()
            .Resources.OfType<LocalPostgresServerResource>().Single();
        var insidePrivateFolder = Path.GetFullPath(server.WorkingDirectory)
            .StartsWith(Path.GetFullPath(fixture.DataDirectory) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

        Assert.True(File.Exists(Path.Combine(server.WorkingDirectory, "data", "PG_VERSION")));
        // As root the server runs as 'postgres', which cannot pass through the fixture's 0700 folder; as anyone else
        // it runs as that user, who can.
        Assert.Equal(!Environment.IsPrivilegedProcess, insidePrivateFolder);
    }

    [Fact]
    public async Task ApiHealthEndpointAnswersOk()
    {
        using var http = fixture.App.CreateHttpClient("api");

        using var response = await http.GetAsync("/health");

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ApiRefusesRequestsWithoutAKeyAndAcceptsTheBootstrapKey()
    {
        using var anonymous = fixture.App.CreateHttpClient("api");
        using var withKey = fixture.ApiClient();

        using var refused = await anonymous.GetAsync("/api/runs");
        using var accepted = await withKey.GetAsync("/api/runs");

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task PersonaGymConnectionStringOpensThePersonaGymDatabase()
    {
        var connectionString = await fixture.App.GetConnectionStringAsync("personagym");

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_database()", connection);

        Assert.Equal("personagym", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task TheServicesLogInAsARoleThatWorksWithRowsButMayNotChangeTheSchema()
    {
        var connectionString = await fixture.App.GetConnectionStringAsync("personagym");

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var role = new NpgsqlCommand(
            "SELECT current_user::text, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user", connection))
        await using (var reader = await role.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal((DatabaseLoginExtensions.ServiceRole, false, false, false),
                (reader.GetString(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3)));
        }
        // The migration step applied the schema as its owner and granted this role its rows.
        await using (var count = new NpgsqlCommand("SELECT count(*) FROM \"Runs\"", connection))
        {
            Assert.True((long)(await count.ExecuteScalarAsync())! >= 0);
        }
        await using var create = new NpgsqlCommand("CREATE TABLE sneaky (id int)", connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => create.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    [Fact]
    public async Task TheMigrationStepRanOnceAndCompleted()
    {
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var finished = await notifications.WaitForResourceAsync("migrations",
            e => e.Snapshot.State?.Text == KnownResourceStates.Finished, timeout.Token);

        Assert.Equal(0, finished.Snapshot.ExitCode);
    }

    [Fact]
    public async Task RabbitMQConnectionStringCompletesAnAmqpHandshake()
    {
        var connectionString = await fixture.App.GetConnectionStringAsync("rabbitmq");
        var factory = new ConnectionFactory { Uri = new Uri(connectionString!) };

        await using var connection = await factory.CreateConnectionAsync();

        Assert.True(connection.IsOpen);
    }

    [Fact]
    public async Task RabbitMQHasAGeneratedUserAndRefusesGuest()
    {
        var connectionString = new Uri((await fixture.App.GetConnectionStringAsync("rabbitmq"))!);
        var guest = new ConnectionFactory { Uri = new Uri($"amqp://guest:guest@127.0.0.1:{connectionString.Port}/"), AutomaticRecoveryEnabled = false };

        Assert.DoesNotContain("guest", connectionString.UserInfo);
        await Assert.ThrowsAnyAsync<RabbitMQ.Client.Exceptions.BrokerUnreachableException>(async () => await guest.CreateConnectionAsync());
    }

    [Fact]
    public void RabbitMQErlangDistributionListensOnLoopbackOnly()
    {
        var port = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<LocalRabbitMQServerResource>().Single().DistributionPort;

        // /proc/net/tcp: local address as hex IP:port, state 0A = listening.
        var listeners = File.ReadLines("/proc/net/tcp").Skip(1).Concat(File.ReadLines("/proc/net/tcp6").Skip(1))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f[3] == "0A" && Convert.ToInt32(f[1].Split(':')[1], 16) == port)
            .Select(f => f[1].Split(':')[0])
            .ToList();

        Assert.NotEmpty(listeners);
        Assert.All(listeners, address => Assert.True(address is "0100007F" or "00000000000000000000000001000000", $"listens on {address}"));
    }
}
