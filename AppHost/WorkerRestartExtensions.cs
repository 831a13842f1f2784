using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;

namespace PersonaGym.AppHost;

/// <summary>
/// Restarts a worker whose process exits (a crash, an out-of-memory kill) through the resource's start command, with
/// backoff: 1 s, then doubling up to a minute while it keeps exiting, reset once it has run for five minutes. Work the
/// process held is redelivered by the broker, so a restart costs only time. In Azure Container Apps the platform does
/// the same. A worker stopped from the dashboard also comes back: stop the AppHost to stop the system.
/// </summary>
public static class WorkerRestartExtensions
{
    public static IResourceBuilder<ProjectResource> WithRestartOnExit(this IResourceBuilder<ProjectResource> worker)
    {
        var services = worker.ApplicationBuilder.Services;
        if (!services.Any(s => s.ImplementationType == typeof(WorkerSupervisor)))
        {
            services.AddSingleton<WorkerSupervisorTargets>();
            services.AddHostedService<WorkerSupervisor>();
        }

        worker.ApplicationBuilder.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            @event.Services.GetRequiredService<WorkerSupervisorTargets>().Names.Add(worker.Resource.Name);
            return Task.CompletedTask;
        });
        return worker;
    }

    internal sealed class WorkerSupervisorTargets
    {
        public ConcurrentBag<string> Names { get; } = [];
    }

    internal sealed class WorkerSupervisor(
        WorkerSupervisorTargets targets,
        ResourceNotificationService notifications,
        ResourceCommandService commands,
        IHostApplicationLifetime lifetime,
        ILogger<WorkerSupervisor> logger) : BackgroundService
    {
        private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
        private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);
        private static readonly TimeSpan StableAfter = TimeSpan.FromMinutes(5);

        private readonly ConcurrentDictionary<string, (string? State, TimeSpan Delay, DateTimeOffset RunningSince)> _replicas = new();

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            try
            {
                await foreach (var update in notifications.WatchAsync(stoppingToken))
                {
                    if (!targets.Names.Contains(update.Resource.Name)) continue;
                    var state = update.Snapshot.State?.Text;
                    var previous = _replicas.GetValueOrDefault(update.ResourceId, (null, FirstDelay, DateTimeOffset.UtcNow));
                    if (state == previous.State) continue;

                    var now = DateTimeOffset.UtcNow;
                    if (state == KnownResourceStates.Running)
                    {
                        var delay = previous.State is not null && now - previous.RunningSince > StableAfter ? FirstDelay : previous.Delay;
                        _replicas[update.ResourceId] = (state, delay, now);
                        continue;
                    }

                    _replicas[update.ResourceId] = (state, previous.Delay, previous.RunningSince);
                    var exited = state == KnownResourceStates.Exited || state == KnownResourceStates.Finished || state == KnownResourceStates.FailedToStart;
                    if (!exited || previous.State is null || lifetime.ApplicationStopping.IsCancellationRequested) continue;

                    var wait = now - previous.RunningSince > StableAfter ? FirstDelay : previous.Delay;
                    _replicas[update.ResourceId] = (state, TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, MaxDelay.Ticks)), previous.RunningSince);
                    _ = RestartAsync(update.ResourceId, update.Snapshot.ExitCode, wait, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }

        private async Task RestartAsync(string resourceId, int? exitCode, TimeSpan wait, CancellationToken stoppingToken)
        {
            try
            {
                logger.LogWarning("{Resource} exited (code {ExitCode}); starting it again in {Delay}", resourceId, exitCode, wait);
                await Task.Delay(wait, stoppingToken);
                if (lifetime.ApplicationStopping.IsCancellationRequested) return;
                var result = await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, stoppingToken);
                if (!result.Success) logger.LogError("Starting {Resource} again failed: {Error}", resourceId, result.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }
    }
}
