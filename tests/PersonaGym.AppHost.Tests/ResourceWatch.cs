using System.Collections.Concurrent;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PersonaGym.AppHost.Tests;

/// <summary>
/// Follows every resource of a system from before it starts: its latest state and its last log lines, so a test that
/// fails can say which resource was stuck or dead, and what it printed, in the failure message itself.
/// </summary>
public sealed class ResourceWatch : IAsyncDisposable
{
    private const int KeptLines = 40;

    private readonly ConcurrentDictionary<string, ResourceEvent> _latest = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _logs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ResourceLoggerService _loggers;
    private readonly ConcurrentBag<Task> _logWatches = [];
    private readonly Task _stateWatch;

    public ResourceWatch(DistributedApplication app)
    {
        var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
        _loggers = app.Services.GetRequiredService<ResourceLoggerService>();
        _stateWatch = Task.Run(() => WatchStatesAsync(notifications));
    }

    private async Task WatchStatesAsync(ResourceNotificationService notifications)
    {
        try
        {
            await foreach (var resourceEvent in notifications.WatchAsync(_stop.Token))
            {
                if (_latest.TryAdd(resourceEvent.ResourceId, resourceEvent))
                {
                    var id = resourceEvent.ResourceId;
                    _logWatches.Add(Task.Run(() => WatchLogsAsync(id)));
                }
                else
                {
                    _latest[resourceEvent.ResourceId] = resourceEvent;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WatchLogsAsync(string resourceId)
    {
        var lines = _logs.GetOrAdd(resourceId, _ => new ConcurrentQueue<string>());
        try
        {
            await foreach (var batch in _loggers.WatchAsync(resourceId).WithCancellation(_stop.Token))
            {
                foreach (var line in batch)
                {
                    lines.Enqueue(line.Content);
                    while (lines.Count > KeptLines) lines.TryDequeue(out _);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// The resources that are not healthy first, each with its state, failing health checks and last log lines; then
    /// one line naming the healthy ones. Compact on purpose: it ends up in a test failure message and a CI log's tail.
    /// </summary>
    public string Describe(int logLinesPerResource = 12)
    {
        var resources = _latest
            .Where(entry => !(entry.Value.Snapshot.State?.Text == KnownResourceStates.NotStarted && entry.Key.Contains("-rebuilder-", StringComparison.Ordinal)))
            .OrderBy(entry => entry.Key, StringComparer.Ordinal)
            .ToList();
        var healthy = resources.Where(entry => entry.Value.Snapshot.HealthStatus == HealthStatus.Healthy).Select(entry => entry.Key).ToList();
        var text = new StringBuilder();
        foreach (var (id, resourceEvent) in resources.Where(entry => entry.Value.Snapshot.HealthStatus != HealthStatus.Healthy))
        {
            var snapshot = resourceEvent.Snapshot;
            var state = string.IsNullOrEmpty(snapshot.State?.Text) ? "(no state)" : snapshot.State.Text;
            text.Append(id).Append(": ").Append(state).Append(", ").Append(snapshot.HealthStatus?.ToString() ?? "no health yet");
            if (snapshot.ExitCode is { } exitCode) text.Append(", exit code ").Append(exitCode);
            text.AppendLine();

            foreach (var report in snapshot.HealthReports.Where(r => r.Status != HealthStatus.Healthy))
            {
                text.Append("    health check ").Append(report.Name).Append(": ").Append(report.Status?.ToString() ?? "not run")
                    .Append(' ').AppendLine(report.Description ?? FirstLine(report.ExceptionText));
            }

            if (_logs.TryGetValue(id, out var lines) && !lines.IsEmpty)
            {
                var last = lines.TakeLast(logLinesPerResource).ToList();
                text.AppendLine($"    last {last.Count} log lines:");
                foreach (var line in last) text.Append("      ").AppendLine(line);
            }
        }

        if (healthy.Count > 0) text.Append("healthy: ").AppendLine(string.Join(", ", healthy));
        return text.Length == 0 ? "(no resource reported any state)" : text.ToString();
    }

    private static string FirstLine(string? text) =>
        text is null ? "" : text.Split('\n', 2)[0].TrimEnd('\r');

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        // The state watch is the only one that starts log watches: once it ends, the set of them is complete.
        await _stateWatch;
        await Task.WhenAll(_logWatches);
        _stop.Dispose();
    }
}
