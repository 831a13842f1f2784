using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// Deletes expired entries of the response cache every <see cref="PipelineOptions.CachePruneInterval"/>, so the
/// database holds only what can still be served (<c>PersonaGym:Models:CacheLifetime</c>). Runs in the coordinating
/// process (the Api, or the CLI in local mode); deleting by the <c>ExpiresAt</c> index is safe from any number of them.
/// </summary>
public sealed partial class ResponseCachePruner(
    EfDistributedCache cache,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<ResponseCachePruner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.CachePruneInterval;
        if (interval <= TimeSpan.Zero) return;

        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var removed = await cache.RemoveExpiredAsync(stoppingToken);
                if (removed > 0) LogPruned(logger, removed);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex, interval);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} expired response cache entries.")]
    private static partial void LogPruned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pruning the response cache failed; trying again in {Interval}.")]
    private static partial void LogFailed(ILogger logger, Exception exception, TimeSpan interval);
}
