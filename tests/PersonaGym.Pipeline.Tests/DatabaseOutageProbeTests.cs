using System.Net;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// While an outage of the database is recorded, the Api asks the database itself every couple of seconds, so it
/// serves requests again as soon as the server answers, not only at the stall detector's next check.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class DatabaseOutageProbeTests(PostgresServer postgres)
{
    private static readonly SystemCondition Outage = new("the database is unreachable (Connection refused)", DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task Without_a_recorded_outage_nothing_is_asked()
    {
        var contexts = new CountingContexts(await postgres.CreateDatabaseAsync());
        var probe = new DatabaseOutageProbe(contexts, new PipelineConditions(), new FakeTimeProvider(), NullLogger<DatabaseOutageProbe>.Instance);

        Assert.Null(await probe.CurrentOutageAsync(CancellationToken.None));
        Assert.Equal(0, contexts.Created);
    }

    [Fact]
    public async Task A_database_that_answers_clears_the_recorded_outage_at_the_first_request()
    {
        var contexts = new CountingContexts(await postgres.CreateDatabaseAsync());
        var conditions = new PipelineConditions { Database = Outage };
        var probe = new DatabaseOutageProbe(contexts, conditions, new FakeTimeProvider(), NullLogger<DatabaseOutageProbe>.Instance);

        Assert.Null(await probe.CurrentOutageAsync(CancellationToken.None));
        Assert.Null(conditions.Database);
        Assert.Equal(1, contexts.Created);
    }

    [Fact]
    public async Task A_database_that_does_not_answer_keeps_the_outage_and_is_asked_again_only_after_the_interval()
    {
        var contexts = new CountingContexts($"Host=127.0.0.1;Port={ClosedLoopbackPort()};Database=personagym;Username=nobody;Password=x;Timeout=2");
        var conditions = new PipelineConditions { Database = Outage };
        var time = new FakeTimeProvider();
        var probe = new DatabaseOutageProbe(contexts, conditions, time, NullLogger<DatabaseOutageProbe>.Instance);

        Assert.Equal(Outage, await probe.CurrentOutageAsync(CancellationToken.None));
        Assert.Equal(1, contexts.Created);

        // Requests in between are answered from the record, without a connection attempt each.
        time.Advance(DatabaseOutageProbe.Interval / 2);
        Assert.Equal(Outage, await probe.CurrentOutageAsync(CancellationToken.None));
        Assert.Equal(1, contexts.Created);

        time.Advance(DatabaseOutageProbe.Interval);
        Assert.Equal(Outage, await probe.CurrentOutageAsync(CancellationToken.None));
        Assert.Equal(2, contexts.Created);
        Assert.Equal(Outage, conditions.Database);
    }

    [Fact]
    public async Task An_outage_recorded_again_while_a_probe_ran_is_not_cleared_by_that_probe()
    {
        var conditions = new PipelineConditions { Database = Outage };
        var later = Outage with { Reason = "the database did not answer within 10 s" };
        var contexts = new CountingContexts(await postgres.CreateDatabaseAsync(), onCreate: () => conditions.Database = later);
        var probe = new DatabaseOutageProbe(contexts, conditions, new FakeTimeProvider(), NullLogger<DatabaseOutageProbe>.Instance);

        // The probe saw the first record answered; the newer one is the stall detector's and waits for the next probe.
        Assert.Null(await probe.CurrentOutageAsync(CancellationToken.None));
        Assert.Equal(later, conditions.Database);
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private sealed class CountingContexts(string connectionString, Action? onCreate = null) : IDbContextFactory<PersonaGymDbContext>
    {
        private int _created;

        public int Created => Volatile.Read(ref _created);

        public PersonaGymDbContext CreateDbContext()
        {
            Interlocked.Increment(ref _created);
            onCreate?.Invoke();
            return PersonaGymDatabase.CreateDbContext(new DatabaseConnection(DatabaseProvider.Postgres, connectionString));
        }
    }
}
