using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace PersonaGym.AppHost;

/// <summary>
/// Restarts a worker whose process exits (a crash, an out-of-memory kill) through the resource's start command, with
/// backoff (<see cref="WorkerRestartBackoff"/>): 1 s, then doubling up to a minute while it keeps exiting, reset once it
/// has run for five minutes. Work the process held is redelivered by the broker, so a restart costs only time. In Azure
/// Container Apps the platform does the same. A worker stopped from the dashboard also comes back: stop the AppHost to stop the system.
/// </summary>
public static class WorkerRestartExtensions
{
    public static IResourceBuilder<ProjectResource> WithRestartOnExit(this IResourceBuilder<ProjectResource> worker)
    {
        var services = worker.ApplicationBuilder.Services;
        if (!services.Any(s => s.ImplementationType == typeof(WorkerSupervisor)))
        {
            services.AddSingleton<WorkerSupervisorTargets>();
            services.TryAddSingleton(TimeProvider.System);
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
        TimeProvider time,
        ILogger<WorkerSupervisor> logger) : BackgroundService
    {
        /// <summary>Each replica's last state seen and its restart delays, by resource id.</summary>
        private readonly Dictionary<string, (string? State, WorkerRestartBackoff Backoff)> _replicas = [];

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            try
            {
                await foreach (var update in notifications.WatchAsync(stoppingToken))
                {
                    if (!targets.Names.Contains(update.Resource.Name)) continue;
                    var state = update.Snapshot.State?.Text;
                    var (previous, backoff) = _replicas.GetValueOrDefault(update.ResourceId, (null, new WorkerRestartBackoff(time)));
                    if (state == previous) continue;
                    _replicas[update.ResourceId] = (state, backoff);

                    if (state == KnownResourceStates.Running)
                    {
                        backoff.Running();
                        continue;
                    }

                    var exited = state == KnownResourceStates.Exited || state == KnownResourceStates.Finished || state == KnownResourceStates.FailedToStart;
                    if (!exited || previous is null || lifetime.ApplicationStopping.IsCancellationRequested) continue;
                    _ = RestartAsync(update.ResourceId, update.Snapshot.ExitCode, backoff.Exited(), stoppingToken);
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
                await Task.Delay(wait, time, stoppingToken);
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
