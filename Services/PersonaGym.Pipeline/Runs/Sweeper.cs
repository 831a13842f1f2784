using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// Re-publishes work that made no progress for <see cref="PipelineOptions.StallTimeout"/>, so even a lost message
/// only delays a run; an item swept <see cref="PipelineOptions.MaxSweeps"/> times without progress is marked failed
/// with that reason, so a run never hangs silently. Also finishes runs whose last message was lost.
/// </summary>
public sealed class Sweeper(
    IServiceScopeFactory scopes,
    IDbContextFactory<PersonaGymDbContext> contexts,
    RunCoordinator coordinator,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<Sweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SweepInterval;
        if (interval <= TimeSpan.Zero) return;

        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Sweep failed; trying again in {Interval}", interval);
            }
        }
    }

    /// <summary>One pass over every running run.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var stalledBefore = now - settings.StallTimeout;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);

        // Items swept too often without progress are failed with the reason, so the run can finish.
        var reason = $"no progress after {settings.MaxSweeps} re-publications ({settings.StallTimeout} apart)";
        await db.BatchWork.Where(w => (w.Stage == BatchStage.Answering || w.Stage == BatchStage.Judging)
                && w.LastProgressAt < stalledBefore && w.Attempts >= settings.MaxSweeps
                && w.Run.Status == RunStatus.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Stage, BatchStage.Failed).SetProperty(w => w.Error, reason), cancellationToken);

        var runs = await db.Runs.AsNoTracking().Where(r => r.Status == RunStatus.Running).Select(r => r.Id).ToListAsync(cancellationToken);
        var published = 0;
        using var scope = scopes.CreateScope();
        var publish = scope.ServiceProvider.GetRequiredService<IPublishEndpoint>();
        foreach (var runId in runs)
        {
            if (await coordinator.TryCompleteAsync(runId, cancellationToken) is not null) continue;

            published += await coordinator.RepublishAsync(runId, publish, stalledBefore, cancellationToken);
        }

        if (published > 0) logger.LogInformation("Sweeper re-published {Count} stalled items", published);
        return published;
    }
}
