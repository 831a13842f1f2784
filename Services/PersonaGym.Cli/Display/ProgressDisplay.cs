using System.Diagnostics;
using PersonaGym.Core.Planning;
using PersonaGym.Data;
using PersonaGym.Models;
using Spectre.Console;

namespace PersonaGym.Cli.Display;

/// <summary>
/// Live progress of a run, per stage with counts and an ETA, from a run summary that is polled (from the local
/// database or from a server). Interactive terminals get progress bars; logs and pipes get a line now and then.
/// When the models are called in this process, <paramref name="concurrency"/> adds each model's current concurrency limit.
/// </summary>
public sealed class ProgressDisplay(IAnsiConsole console, TimeSpan pollInterval, Func<IReadOnlyDictionary<string, ModelConcurrency>>? concurrency = null)
{
    private static readonly RunStatus[] Running = [RunStatus.Pending, RunStatus.Running];

    /// <summary>Polls until the run is no longer running; returns the last summary.</summary>
    /// <param name="expectedBatches">Batches × agents the run will do, known before any question exists.</param>
    /// <param name="finished">
    /// Completes when the run is known to have finished (the pipeline in this process says so): the next poll comes
    /// then instead of after the rest of the interval.
    /// </param>
    public async Task<RunSummary> FollowAsync(Func<CancellationToken, Task<RunSummary?>> poll, int expectedBatches, CancellationToken cancellationToken, Task? finished = null)
    {
        var started = Stopwatch.StartNew();
        var summary = await PollAsync(poll, cancellationToken);
        if (!Running.Contains(summary.Status)) return summary;

        if (console.Profile.Capabilities.Interactive)
        {
            await console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var questions = ctx.AddTask("Questions");
                    var answered = ctx.AddTask("Answers");
                    var judged = ctx.AddTask("Judgements");
                    var calls = ctx.AddTask("LLM calls", maxValue: 1);
                    var limits = concurrency is null ? null : ctx.AddTask("Concurrency", maxValue: 1);
                    limits?.IsIndeterminate = true;
                    calls.IsIndeterminate = true;
                    while (true)
                    {
                        var total = Math.Max(1, Math.Max(summary.Batches.Planned, expectedBatches));
                        Set(questions, $"Questions   {summary.Personas.QuestionsReady + summary.Personas.Failed}/{summary.Personas.Total} personas", summary.Personas.QuestionsReady + summary.Personas.Failed, Math.Max(1, summary.Personas.Total));
                        Set(answered, $"Answers     {summary.Batches.Answered}/{total} batches", summary.Batches.Answered + summary.Batches.Failed, total);
                        Set(judged, $"Judgements  {summary.Batches.Judged}/{total} batches", summary.Batches.Judged + summary.Batches.Failed, total);
                        calls.Description = $"LLM calls   {UsageText(summary)}";
                        limits?.Description = Markup.Escape($"Concurrency {ConcurrencyText(concurrency!())}");
                        if (!Running.Contains(summary.Status))
                        {
                            calls.IsIndeterminate = false;
                            calls.Value = 1;
                            limits?.IsIndeterminate = false;
                            limits?.Value = 1;
                            break;
                        }

                        finished = await WaitAsync(finished, cancellationToken);
                        summary = await PollAsync(poll, cancellationToken);
                    }
                });
            return summary;
        }

        var lastLine = "";
        var lastPrinted = TimeSpan.Zero;
        while (true)
        {
            var line = Line(summary, expectedBatches, started.Elapsed, concurrency?.Invoke());
            var done = !Running.Contains(summary.Status);
            if (done || (line != lastLine && started.Elapsed - lastPrinted >= TimeSpan.FromSeconds(5)) || lastPrinted == TimeSpan.Zero)
            {
                console.WriteLine(line);
                lastLine = line;
                lastPrinted = started.Elapsed;
            }

            if (done) return summary;
            finished = await WaitAsync(finished, cancellationToken);
            summary = await PollAsync(poll, cancellationToken);
        }
    }

    /// <summary>
    /// One line of progress, as logs and pipes show it, with each model's current limit: from <paramref name="concurrency"/>
    /// (this process's limiters) or else from the summary (what the worker processes reported).
    /// </summary>
    public static string Line(RunSummary summary, int expectedBatches, TimeSpan elapsed, IReadOnlyDictionary<string, ModelConcurrency>? concurrency = null)
    {
        var total = Math.Max(summary.Batches.Planned, expectedBatches);
        var finished = summary.Batches.Judged + summary.Batches.Failed;
        var eta = finished > 0 && finished < total
            ? $" · ETA {Format(TimeSpan.FromTicks(elapsed.Ticks / finished * (total - finished)))}"
            : "";
        return $"[{Format(elapsed)}] questions {summary.Personas.QuestionsReady}/{summary.Personas.Total} personas" +
               $" · answered {summary.Batches.Answered}/{total} batches · judged {summary.Batches.Judged}/{total}" +
               (summary.Batches.Failed > 0 ? $" · {summary.Batches.Failed} failed" : "") +
               $" · {UsageText(summary)}" +
               (concurrency is { Count: > 0 } ? $" · concurrency {ConcurrencyText(concurrency)}"
                   : summary.Concurrency.Count > 0 ? $" · concurrency {ConcurrencyText(summary.Concurrency)}" : "") +
               eta +
               (summary.Stalled is { } stalled ? $" · CANNOT PROGRESS: {stalled.Reason}" : "");
    }

    /// <summary>"judge-model 24 (18 in flight), agent 8 (8 in flight, held 2s)": what each model is allowed now, and what it uses.</summary>
    public static string ConcurrencyText(IReadOnlyDictionary<string, ModelConcurrency> concurrency) =>
        concurrency.Count == 0
            ? "no model called yet"
            : string.Join(", ", concurrency.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
                $"{c.Key} {c.Value.Limit} ({c.Value.InFlight} in flight" +
                (c.Value.HeldFor is { } held ? $", held {Math.Ceiling(held.TotalSeconds):0}s by the provider" : "") + ")"));

    /// <summary>"agent 48 (40 in flight, 2 processes)": each model's limit as the worker processes last reported it.</summary>
    public static string ConcurrencyText(IReadOnlyList<ModelConcurrencySummary> concurrency) =>
        string.Join(", ", concurrency.Select(c =>
            $"{c.Model} {c.Limit} ({c.InFlight} in flight" + (c.Processes > 1 ? $", {c.Processes} processes" : "") + ")"));

    private static string UsageText(RunSummary summary) =>
        $"{summary.Usage.Calls} calls ({summary.Usage.CacheHits} cached), {Tokens(summary.Usage.InputTokens + summary.Usage.OutputTokens)} tokens" +
        (summary.Cost is { Unknown: false } cost ? $", {cost.Format()}" : "");

    /// <summary>What a cost lacks, for a line of its own: the models used at a cost that have no price; null when none.</summary>
    public static string? UnpricedText(MoneyCost? cost) => cost?.UnpricedNote() is { } note ? WherePricesAreSet(note) : null;

    /// <summary>A note on missing prices, followed by where prices are set.</summary>
    public static string WherePricesAreSet(string note) => $"{note} Prices are set in {PricingOptions.Section} (docs/running.md).";

    private static void Set(ProgressTask task, string description, double value, double max)
    {
        task.Description = Markup.Escape(description);
        task.MaxValue = max;
        task.Value = Math.Min(value, max);
    }

    /// <summary>
    /// Waits the poll interval, or less once <paramref name="finished"/> completes: a finish signalled during the last
    /// poll or the wait is polled at once. Returns what to wait on next time: null once the signal is used, so a summary
    /// that still says running after it is polled at the interval again.
    /// </summary>
    private async Task<Task?> WaitAsync(Task? finished, CancellationToken cancellationToken)
    {
        if (finished is null)
        {
            await Task.Delay(pollInterval, cancellationToken);
            return null;
        }

        if (!finished.IsCompleted)
        {
            using var woken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(pollInterval, woken.Token);
            if (await Task.WhenAny(delay, finished) == delay)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return finished;
            }

            await woken.CancelAsync();
        }

        cancellationToken.ThrowIfCancellationRequested();
        return null;
    }

    private static async Task<RunSummary> PollAsync(Func<CancellationToken, Task<RunSummary?>> poll, CancellationToken cancellationToken) =>
        await poll(cancellationToken) ?? throw new InvalidOperationException("The run disappeared while it was being followed.");

    public static string Tokens(long tokens) => tokens switch
    {
        >= 1_000_000 => $"{tokens / 1_000_000.0:0.0}M",
        >= 10_000 => $"{tokens / 1000.0:0}k",
        _ => tokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string Format(TimeSpan span) => span.TotalHours >= 1 ? span.ToString(@"h\:mm\:ss") : span.ToString(@"m\:ss");
}
