using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace PersonaGym.AppHost.Tests;

/// <summary>
/// The real AppHost with local-process infrastructure: the installed PostgreSQL and RabbitMQ, run by the
/// AppHost in a data folder of its own, and all four services. Started once for the tests that share it.
/// </summary>
public sealed class LocalInfrastructureAppFixture : IAsyncLifetime
{
    /// <summary>Every resource the system consists of; all must become healthy.</summary>
    public static readonly string[] ResourceNames =
        ["postgres", "personagym", "rabbitmq", "api", "question-generator", "agent-runner", "judge"];

    /// <summary>Generous (first start runs initdb and compiles nothing), but bounded.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private readonly string _dataDirectory =
        Path.Combine(Path.GetTempPath(), $"personagym-apphost-tests-{Guid.NewGuid():N}");

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The application has not started.");

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.PersonaGym_AppHost>(
            ["--Infrastructure:Mode=local", $"--Infrastructure:DataDirectory={_dataDirectory}", "--Judge:Replicas=2"],
            timeout.Token);

        _app = await builder.BuildAsync(timeout.Token);
        await _app.StartAsync(timeout.Token);

        var notifications = _app.Services.GetRequiredService<ResourceNotificationService>();
        foreach (var name in ResourceNames)
        {
            await notifications.WaitForResourceHealthyAsync(name, timeout.Token);
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
