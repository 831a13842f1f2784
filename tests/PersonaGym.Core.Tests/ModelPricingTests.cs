using PersonaGym.Core.Planning;

namespace PersonaGym.Core.Tests;

public sealed class ModelPricingTests
{
    private static ModelPricing Pricing(params (string Model, decimal Input, decimal Output)[] prices) => new(new PricingOptions
    {
        Currency = "eur",
        Models = prices.Select(p => new ModelPrice { Model = p.Model, InputPerMillionTokens = p.Input, OutputPerMillionTokens = p.Output }).ToList(),
    });

    [Fact]
    public void A_spec_takes_its_own_price_then_that_of_its_model_at_any_endpoint()
    {
        var pricing = Pricing(("openai:gpt-4o-mini", 0.15m, 0.60m), ("openai:llama3@http://gpu:8000/v1", 0m, 0m));

        Assert.True(pricing.TryGetPrice("openai:gpt-4o-mini", out var input, out var output));
        Assert.Equal((0.15m, 0.60m), (input, output));
        Assert.True(pricing.TryGetPrice("openai:gpt-4o-mini@https://proxy.example/v1", out input, out _));
        Assert.Equal(0.15m, input);
        Assert.True(pricing.TryGetPrice("OpenAI:GPT-4o-mini", out _, out _));
        Assert.True(pricing.TryGetPrice("openai:llama3@http://gpu:8000/v1", out _, out _));
        // An entry with an endpoint prices only that endpoint.
        Assert.False(pricing.TryGetPrice("openai:llama3", out _, out _));
        Assert.False(pricing.TryGetPrice("openai:llama3@http://other:8000/v1", out _, out _));
        Assert.False(pricing.TryGetPrice("anthropic:claude-3-5-sonnet-latest", out _, out _));
    }

    [Fact]
    public void Offline_models_are_free_unless_the_list_prices_them()
    {
        Assert.True(ModelPricing.None.TryGetPrice("offline:judge-1", out var input, out var output));
        Assert.Equal((0m, 0m), (input, output));
        var priced = Pricing(("offline:judge-1", 1m, 2m));
        Assert.True(priced.TryGetPrice("offline:judge-1", out input, out output));
        Assert.Equal((1m, 2m), (input, output));
    }

    [Fact]
    public void A_cost_sums_the_priced_lines_and_names_the_models_without_a_price()
    {
        var cost = Pricing(("openai:gpt-4o-mini", 0.15m, 0.60m)).Price(
        [
            ("answer", "openai:gpt-4o-mini", 2_000_000, 500_000),
            ("judge", "anthropic:claude-x", 1_000, 10),
            ("judge", "anthropic:claude-x", 5, 5),
            // Every call of this model came from the cache: nothing paid, so nothing is missing.
            ("exemplars", "anthropic:claude-cached", 0, 0),
        ]);

        Assert.Equal("EUR", cost.Currency);
        Assert.Equal(2 * 0.15m + 0.5m * 0.60m, cost.Amount);
        Assert.Equal(["anthropic:claude-x"], cost.UnpricedModels);
        Assert.False(cost.Complete);
        Assert.False(cost.Unknown);
        Assert.Equal("≥ 0.60 EUR", cost.Format());
        Assert.Equal(0m, cost.Lines[3].Amount);
        Assert.Null(cost.Lines[1].Amount);
    }

    [Fact]
    public void Nothing_priced_reads_unpriced_and_small_amounts_keep_their_digits()
    {
        var unknown = ModelPricing.None.Price([("answer", "openai:gpt-4o", 10, 10)]);
        Assert.True(unknown.Unknown);
        Assert.Equal("unpriced", unknown.Format());

        var small = Pricing(("openai:gpt-4o-mini", 0.15m, 0.60m)).Price([("answer", "openai:gpt-4o-mini", 1_000, 100)]);
        Assert.True(small.Complete);
        Assert.Equal("0.00021 EUR", small.Format());
        Assert.Equal("0.042 USD", MoneyCost.FormatAmount(0.0421m, "USD"));
        Assert.Equal("12.35 USD", MoneyCost.FormatAmount(12.345m, "USD"));
        Assert.Equal("0.00 USD", ModelPricing.None.Price([]).Format());
    }

    [Fact]
    public void A_price_list_that_cannot_be_used_is_refused_with_every_problem_named()
    {
        var options = new PricingOptions
        {
            Currency = "dollars",
            Models =
            [
                new ModelPrice { Model = "gpt-4o", InputPerMillionTokens = 1 },
                new ModelPrice { Model = "openai:gpt-4o", InputPerMillionTokens = -1 },
                new ModelPrice { Model = "OPENAI:gpt-4o", InputPerMillionTokens = 1 },
            ],
        };

        var problems = ModelPricing.Problems(options);
        Assert.Equal(4, problems.Count);
        Assert.Contains(problems, p => p.Contains("three-letter", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Models[0] names no model spec", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Models[1]", StringComparison.Ordinal) && p.Contains("negative", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Models[2] prices", StringComparison.Ordinal));
        var refused = Assert.Throws<ArgumentException>(() => new ModelPricing(options));
        Assert.Contains(PricingOptions.Section, refused.Message, StringComparison.Ordinal);
        Assert.Empty(ModelPricing.Problems(new PricingOptions()));
    }
}
