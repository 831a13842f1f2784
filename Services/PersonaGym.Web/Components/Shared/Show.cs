using System.Globalization;
using PersonaGym.Core.Planning;
using PersonaGym.Data;

namespace PersonaGym.Web.Components.Shared;

/// <summary>How the pages print numbers and states: one place, one style.</summary>
public static class Show
{
    public static string Score(double? score) => score is { } s ? s.ToString("0.00", CultureInfo.InvariantCulture) : "–";

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A cost by the Api's price list: "0.42 USD", "≥ 0.42 USD" while a model has no price, "–" with none.</summary>
    public static string Cost(MoneyCost? cost) => cost is null || cost.Unknown ? "–" : cost.Format();

    /// <summary>Why a cost is incomplete, for its tooltip; empty when it is whole.</summary>
    public static string CostNote(MoneyCost? cost) =>
        cost?.UnpricedNote() is { } note ? $"{note} Prices are set in {PricingOptions.Section}." : "";

    /// <summary>The cost of one stage on one model, from a run's cost lines: "–" when it has no price.</summary>
    public static string Cost(MoneyCost? cost, string stage, string model) =>
        cost?.Lines.FirstOrDefault(l => l.Stage == stage && l.Model == model) is { Amount: { } amount } ? MoneyCost.FormatAmount(amount, cost.Currency) : "–";

    public static string Percent(double? share) => share is { } s ? s.ToString("0%", CultureInfo.InvariantCulture) : "–";

    public static string Statistic(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "–";

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan? span) => span switch
    {
        null => "–",
        { TotalHours: >= 1 } s => $"{(int)s.TotalHours} h {s.Minutes} min",
        { TotalMinutes: >= 1 } s => $"{(int)s.TotalMinutes} min {s.Seconds} s",
        { } s => $"{Math.Max(0, (int)Math.Ceiling(s.TotalSeconds))} s",
    };

    public static bool IsActive(RunStatus status) => status is RunStatus.Pending or RunStatus.Running;

    public static Radzen.BadgeStyle Badge(RunStatus status) => status switch
    {
        RunStatus.Completed => Radzen.BadgeStyle.Success,
        RunStatus.CompletedWithFailures or RunStatus.Stopped => Radzen.BadgeStyle.Warning,
        RunStatus.Failed or RunStatus.Cancelled => Radzen.BadgeStyle.Danger,
        _ => Radzen.BadgeStyle.Info,
    };

    public static string Shorten(string text, int length = 90) => text.Length > length ? text[..length] + "…" : text;
}
