using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PersonaGym.Data;
using PersonaGym.Models;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// Writes this process's current concurrency limit per model (<see cref="ModelPipelineFactory.Concurrency"/>) to
/// <see cref="ModelConcurrencyReport"/> rows every <see cref="PipelineOptions.ConcurrencyReportInterval"/>, so the Api
/// and <c>show</c> can say what each model is allowed across all worker processes. One row per model and process,
/// written only when a value changed or the row is about to go stale: a few writes a minute, whatever the call rate.
/// The rows go when the process stops.
/// </summary>
public sealed partial class ModelConcurrencyReporter(
    ModelPipelineFactory models,
    IDbContextFactory<PersonaGymDbContext> contexts,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<ModelConcurrencyReporter> logger) : BackgroundService
{
    /// <summary>This process, as its rows name it.</summary>
    public static readonly string ProcessName = $"{Environment.MachineName}:{Environment.ProcessId}";

    private readonly Dictionary<string, (ModelConcurrency Value, DateTimeOffset At)> _written = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ConcurrencyReportInterval;
        if (interval <= TimeSpan.Zero) return;

        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ReportAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex);
            }
        }
    }

    /// <summary>Writes the limits that changed since the last report (or would otherwise go stale).</summary>
    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var refreshBefore = now - RunQueries.ConcurrencyReportsFreshFor / 2;
        var due = models.Concurrency()
            .Where(p => !_written.TryGetValue(p.Key, out var last) || Differs(last.Value, p.Value) || last.At < refreshBefore)
            .ToList();
        if (due.Count == 0) return;

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var specs = due.Select(p => p.Key).ToList();
        var rows = await db.ModelConcurrencyReports.Where(r => r.Process == ProcessName && specs.Contains(r.Model))
            .ToDictionaryAsync(r => r.Model, StringComparer.Ordinal, cancellationToken);
        foreach (var (model, value) in due)
        {
            if (!rows.TryGetValue(model, out var row))
            {
                row = new ModelConcurrencyReport { Model = model, Process = ProcessName };
                db.ModelConcurrencyReports.Add(row);
            }

            row.Limit = value.Limit;
            row.Ceiling = value.Ceiling;
            row.InFlight = value.InFlight;
            row.Waiting = value.Waiting;
            row.ReportedAt = now;
        }

        await db.SaveChangesAsync(cancellationToken);
        foreach (var (model, value) in due) _written[model] = (value, now);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_written.Count == 0) return;
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            await db.ModelConcurrencyReports.Where(r => r.Process == ProcessName).ExecuteDeleteAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown ran out (or it is stopped a second time while being disposed): left behind, the
            // rows go stale and are not shown. A stop must not fail for them.
        }
        catch (Exception ex)
        {
            // Left behind, the rows go stale and are not shown.
            LogFailed(logger, ex);
        }
    }

    private static bool Differs(ModelConcurrency a, ModelConcurrency b) =>
        a.Limit != b.Limit || a.Ceiling != b.Ceiling || a.InFlight != b.InFlight || a.Waiting != b.Waiting;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not report the models' concurrency limits.")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
