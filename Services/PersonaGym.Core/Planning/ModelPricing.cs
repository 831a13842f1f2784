using System.Globalization;

namespace PersonaGym.Core.Planning;

/// <summary>
/// The operator's price list (<c>PersonaGym:Pricing</c>): what a million input and output tokens of each model cost,
/// so that a run's usage, its estimate and the runs list also read as money. Providers change their prices and bill
/// in their own ways (cached input, batch discounts), so nothing is built in: a model without an entry is reported as
/// unpriced, never as free. The offline models cost nothing unless an entry prices them.
/// </summary>
public sealed class PricingOptions
{
    public const string Section = "PersonaGym:Pricing";

    /// <summary>The currency the prices are in: a three-letter code, shown next to every amount.</summary>
    public string Currency { get; set; } = "USD";

    /// <summary>One entry per model. A list, not a map, because model specs hold ':' (a configuration key separator).</summary>
    public List<ModelPrice> Models { get; set; } = [];
}

/// <summary>The price of one model's tokens.</summary>
public sealed class ModelPrice
{
    /// <summary>
    /// The model spec as runs name it (<c>openai:gpt-4o-mini</c>). Without an endpoint it prices the model at every
    /// endpoint; with one (<c>openai:llama3@http://gpu-box:8000/v1</c>) only there, ahead of an entry without.
    /// </summary>
    public string Model { get; set; } = "";

    public decimal InputPerMillionTokens { get; set; }

    public decimal OutputPerMillionTokens { get; set; }
}

/// <summary>The paid tokens of one stage on one model, and what they cost (null when the model has no price).</summary>
public sealed record PricedLine(string Stage, string Model, long InputTokens, long OutputTokens, decimal? Amount);

/// <summary>
/// What a run (or an estimate) costs in money: the sum over the priced models, and the models without a price, whose
/// share is missing from <see cref="Amount"/> (then the amount is a lower bound, and says so when formatted).
/// </summary>
public sealed record MoneyCost(string Currency, decimal Amount, IReadOnlyList<string> UnpricedModels, IReadOnlyList<PricedLine> Lines)
{
    /// <summary>Every model that was used has a price: <see cref="Amount"/> is the whole cost.</summary>
    public bool Complete => UnpricedModels.Count == 0;

    /// <summary>Nothing used has a price (and something was used at a cost): there is no amount to show.</summary>
    public bool Unknown => !Complete && Lines.All(l => l.Amount is null);

    /// <summary>
    /// What the cost lacks, in a sentence: "No price for a, b: the cost shown leaves them out." (or "… is unknown."
    /// when nothing used is priced); null when it is complete.
    /// </summary>
    public string? UnpricedNote() => Complete ? null : UnpricedNote(UnpricedModels, Unknown);

    /// <summary>The sentence of <see cref="UnpricedNote()"/> for <paramref name="models"/>, also for several costs shown together.</summary>
    public static string UnpricedNote(IEnumerable<string> models, bool unknown) =>
        $"No price for {string.Join(", ", models)}: the cost {(unknown ? "is unknown" : "shown leaves them out")}.";

    /// <summary>The amount for a reader: "0.42 USD", "≥ 0.42 USD" while some model is unpriced, "unpriced" when none is priced.</summary>
    public string Format() => Unknown ? "unpriced" : (Complete ? "" : "≥ ") + FormatAmount(Amount, Currency);

    /// <summary>An amount with two decimals, or two significant digits when it is below a tenth of a unit.</summary>
    public static string FormatAmount(decimal amount, string currency)
    {
        var decimals = amount is 0 or >= 0.1m ? 2 : Math.Min(8, 1 - (int)Math.Floor(Math.Log10((double)amount)));
        return Math.Round(amount, decimals, MidpointRounding.AwayFromZero).ToString("N" + decimals, CultureInfo.InvariantCulture) + " " + currency;
    }
}

/// <summary>Prices usage with a <see cref="PricingOptions"/> list.</summary>
public sealed class ModelPricing
{
    private readonly Dictionary<string, ModelPrice> _exact = new(StringComparer.OrdinalIgnoreCase);

    public ModelPricing(PricingOptions options)
    {
        var problems = Problems(options);
        if (problems.Count > 0) throw new ArgumentException($"{PricingOptions.Section}: {string.Join("; ", problems)}", nameof(options));
        Currency = options.Currency.ToUpperInvariant();
        foreach (var price in options.Models) _exact[price.Model.Trim()] = price;
    }

    /// <summary>No prices: every model but the offline ones is unpriced.</summary>
    public static ModelPricing None { get; } = new(new PricingOptions());

    public string Currency { get; }

    /// <summary>What is wrong with a price list, one sentence each; empty when it can be used.</summary>
    public static IReadOnlyList<string> Problems(PricingOptions options)
    {
        var problems = new List<string>();
        if (options.Currency is not { Length: 3 } currency || !currency.All(char.IsAsciiLetter))
            problems.Add($"Currency '{options.Currency}' is not a three-letter code such as USD or EUR");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Models.Count; i++)
        {
            var price = options.Models[i];
            var model = price.Model?.Trim() ?? "";
            if (model.Length == 0 || !model.Contains(':'))
                problems.Add($"Models[{i}] names no model spec (provider:model, e.g. openai:gpt-4o-mini)");
            else if (!seen.Add(model))
                problems.Add($"Models[{i}] prices '{model}' a second time");
            if (price.InputPerMillionTokens < 0 || price.OutputPerMillionTokens < 0)
                problems.Add($"Models[{i}] ('{model}') has a negative price");
        }

        return problems;
    }

    /// <summary>
    /// The price of a model spec: its own entry, else the entry of the same model without an endpoint, else none.
    /// The offline models are free unless the list prices them (to rehearse what a run would cost).
    /// </summary>
    public bool TryGetPrice(string spec, out decimal inputPerMillion, out decimal outputPerMillion)
    {
        inputPerMillion = outputPerMillion = 0;
        if (!_exact.TryGetValue(spec, out var price))
        {
            var at = spec.IndexOf('@', spec.IndexOf(':') + 1);
            if (at < 0 || !_exact.TryGetValue(spec[..at], out price))
                return spec.StartsWith("offline:", StringComparison.OrdinalIgnoreCase);
        }

        inputPerMillion = price.InputPerMillionTokens;
        outputPerMillion = price.OutputPerMillionTokens;
        return true;
    }

    /// <summary>The cost of paid tokens per stage and model (cache hits cost nothing and are not in them).</summary>
    public MoneyCost Price(IEnumerable<(string Stage, string Model, long InputTokens, long OutputTokens)> usage)
    {
        // No paid tokens cost nothing, priced or not (a model whose every call came from the cache).
        var lines = usage.Select(u => new PricedLine(u.Stage, u.Model, u.InputTokens, u.OutputTokens,
            u.InputTokens == 0 && u.OutputTokens == 0 ? 0m
            : TryGetPrice(u.Model, out var input, out var output) ? (u.InputTokens * input + u.OutputTokens * output) / 1_000_000m
            : null)).ToList();
        var unpriced = lines.Where(l => l.Amount is null).Select(l => l.Model).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new MoneyCost(Currency, lines.Sum(l => l.Amount ?? 0), unpriced, lines);
    }

    /// <summary>The money an estimate's calls and tokens would cost.</summary>
    public MoneyCost Price(CostEstimate estimate) => Price(estimate.Lines.Select(l => (l.Stage, l.Model, l.InputTokens, l.OutputTokens)));
}
