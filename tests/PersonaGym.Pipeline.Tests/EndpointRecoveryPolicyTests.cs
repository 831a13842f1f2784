using PersonaGym.Pipeline.Messaging;

namespace PersonaGym.Pipeline.Tests;

/// <summary>When the watchdog restarts a receive endpoint: only after the whole timeout not consuming while the broker answered.</summary>
public sealed class EndpointRecoveryPolicyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private readonly EndpointRecoveryPolicy _policy = new(Timeout);

    private IReadOnlyList<string> At(double seconds, params (string Queue, bool Consuming)[] endpoints) =>
        _policy.Due(Start.AddSeconds(seconds), endpoints.ToDictionary(e => e.Queue, e => e.Consuming));

    private IReadOnlyList<string> BrokerSilentAt(double seconds) => _policy.Due(Start.AddSeconds(seconds), consuming: null);

    [Fact]
    public void An_endpoint_not_consuming_for_the_whole_timeout_is_due_once_and_its_clock_starts_again()
    {
        Assert.Empty(At(0, ("agent-runner", false)));
        Assert.Empty(At(30, ("agent-runner", false)));
        Assert.Empty(At(59.9, ("agent-runner", false)));
        Assert.Equal(["agent-runner"], At(60, ("agent-runner", false)));
        Assert.Empty(At(70, ("agent-runner", false)));
        Assert.Equal(["agent-runner"], At(120, ("agent-runner", false)));
    }

    [Fact]
    public void Consuming_at_one_check_starts_the_clock_again()
    {
        Assert.Empty(At(0, ("judge", false)));
        Assert.Empty(At(50, ("judge", true)));
        Assert.Empty(At(55, ("judge", false)));
        Assert.Empty(At(100, ("judge", false)));
        Assert.Equal(["judge"], At(115, ("judge", false)));
    }

    [Fact]
    public void A_broker_that_does_not_answer_is_an_outage_and_the_endpoint_gets_the_whole_timeout_once_it_is_back()
    {
        Assert.Empty(At(0, ("agent-runner", false)));
        Assert.Empty(BrokerSilentAt(40));
        Assert.Empty(BrokerSilentAt(300));
        Assert.Empty(At(310, ("agent-runner", false)));
        Assert.Empty(At(360, ("agent-runner", false)));
        Assert.Equal(["agent-runner"], At(370, ("agent-runner", false)));
    }

    [Fact]
    public void Each_endpoint_has_its_own_clock()
    {
        Assert.Empty(At(0, ("agent-runner", false), ("judge", true)));
        Assert.Empty(At(30, ("agent-runner", false), ("judge", false)));
        Assert.Equal(["agent-runner"], At(60, ("agent-runner", false), ("judge", false)));
        Assert.Equal(["judge"], At(90, ("agent-runner", true), ("judge", false)));
    }

    [Fact]
    public void An_endpoint_that_is_no_longer_listed_is_forgotten()
    {
        Assert.Empty(At(0, ("judge", false)));
        Assert.Empty(At(30));
        Assert.Empty(At(60, ("judge", false)));
        Assert.Equal(["judge"], At(120, ("judge", false)));
    }

    [Theory]
    [InlineData("rabbitmq://127.0.0.1:5672/agent-runner", "agent-runner")]
    [InlineData("rabbitmq://broker/vhost/judge?bind=true", "judge")]
    [InlineData("rabbitmq://broker/my%20vhost/run-progress/", "run-progress")]
    [InlineData("rabbitmq://broker/", null)]
    public void The_queue_is_the_last_segment_of_the_input_address(string address, string? queue) =>
        Assert.Equal(queue, ReceiveEndpointWatchdog.QueueOf(new Uri(address)));
}
