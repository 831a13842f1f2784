using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// A lost server's cause goes into a run's one-line stall reason: a client library's message (RabbitMQ's carries the
/// whole close frame, sometimes over several lines) is cut to its first line, so what follows it stays readable.
/// </summary>
public sealed class OutageReasonTests
{
    [Fact]
    public void A_short_message_is_kept_as_it_is()
    {
        Assert.Equal("Connection refused", ReasonText.Brief("  Connection refused \n"));
    }

    [Fact]
    public void Only_the_first_line_of_a_message_is_kept()
    {
        Assert.Equal("Already closed: The AMQP operation was interrupted",
            ReasonText.Brief("Already closed: The AMQP operation was interrupted\r\n   at RabbitMQ.Client.Impl.SessionBase.Transmit()"));
    }

    [Fact]
    public void A_long_line_is_cut_with_an_ellipsis_at_the_limit()
    {
        var brief = ReasonText.Brief(new string('x', 5000), max: 200);
        Assert.Equal(200, brief.Length);
        Assert.EndsWith("…", brief);
        Assert.StartsWith(new string('x', 199), brief);
    }
}
