using PersonaGym.Cli.Display;
using PersonaGym.Core.Planning;
using PersonaGym.Data;

namespace PersonaGym.Cli.Tests;

/// <summary>The progress line that `run` prints in pipes and `show` prints for a stored run.</summary>
public sealed class ProgressLineTests
{
    private static RunSummary Summary(IReadOnlyList<ModelConcurrencySummary> concurrency) => TestSummaries.PartWay(concurrency: concurrency);

    [Fact]
    public void Without_limits_of_this_process_the_line_shows_what_the_worker_processes_reported()
    {
        var line = ProgressDisplay.Line(Summary(
        [
            new("openai:agent", 40, 37, 2, 2, DateTimeOffset.UtcNow),
            new("openai:judge", 12, 3, 0, 1, DateTimeOffset.UtcNow),
        ]), 10, TimeSpan.FromSeconds(30));

        Assert.Contains("concurrency openai:agent 40 (37 in flight, 2 processes), openai:judge 12 (3 in flight)", line);
    }

    [Fact]
    public void A_run_no_process_reports_for_shows_no_concurrency()
    {
        Assert.DoesNotContain("concurrency", ProgressDisplay.Line(Summary([]), 10, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_run_that_cannot_progress_says_so_with_the_reason_and_a_healthy_one_does_not()
    {
        var stalled = Summary([]) with { Stalled = new RunStallInfo("the message broker is unreachable", DateTimeOffset.UtcNow.AddMinutes(-2)) };

        Assert.EndsWith(" · CANNOT PROGRESS: the message broker is unreachable", ProgressDisplay.Line(stalled, 10, TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("CANNOT PROGRESS", ProgressDisplay.Line(Summary([]), 10, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void The_line_gives_the_cost_when_it_is_known_and_names_what_has_no_price()
    {
        var pricing = new ModelPricing(new PricingOptions { Models = [new ModelPrice { Model = "openai:agent", InputPerMillionTokens = 2, OutputPerMillionTokens = 8 }] });
        var complete = Summary([]) with { Cost = pricing.Price([("answer", "openai:agent", 500_000, 100_000)]) };
        // The summary's usage (1,500 tokens) is all its tokens; the cost is of those paid for, as the price list has them.
        Assert.Contains("1500 tokens, 1.80 USD", ProgressDisplay.Line(complete, 10, TimeSpan.FromSeconds(30)));
        Assert.Null(ProgressDisplay.UnpricedText(complete.Cost));

        var partial = Summary([]) with { Cost = pricing.Price([("answer", "openai:agent", 500_000, 100_000), ("judge", "openai:judge", 1000, 10)]) };
        Assert.Contains("tokens, ≥ 1.80 USD", ProgressDisplay.Line(partial, 10, TimeSpan.FromSeconds(30)));
        Assert.StartsWith("No price for openai:judge: the cost shown leaves them out.", ProgressDisplay.UnpricedText(partial.Cost));

        var unknown = Summary([]) with { Cost = ModelPricing.None.Price([("judge", "openai:judge", 1000, 10)]) };
        Assert.DoesNotContain("USD", ProgressDisplay.Line(unknown, 10, TimeSpan.FromSeconds(30)));
        Assert.Contains("the cost is unknown", ProgressDisplay.UnpricedText(unknown.Cost));
        Assert.DoesNotContain("USD", ProgressDisplay.Line(Summary([]), 10, TimeSpan.FromSeconds(30)));
    }
}
