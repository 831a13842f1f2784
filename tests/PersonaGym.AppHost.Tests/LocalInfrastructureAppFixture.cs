using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PersonaGym.AppHost.LocalInfrastructure;

namespace PersonaGym.AppHost.Tests;

/// <summary>
/// The real AppHost with local-process infrastructure: the installed PostgreSQL and RabbitMQ, run by the
/// AppHost in a data folder of its own, and all four services (two judge and two agent-runner replicas). Started once for the tests that share it.
/// </summary>
public sealed class LocalInfrastructureAppFixture : IAsyncLifetime
{
    /// <summary>Every resource the system consists of; all must become healthy.</summary>
    public static readonly string[] ResourceNames =
        ["postgres", "personagym", "rabbitmq", "api", "question-generator", "agent-runner", "judge", "web"];

    /// <summary>
    /// A bound against a hang, not a speed check: a start here takes well under a minute, but a cold machine runs
    /// initdb, RabbitMQ's first boot and every service's first start while other test projects share its cores.
    /// </summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Private to its owner (0700), like a clone under /root: when the tests run as root, PostgreSQL (run as the
    /// 'postgres' account) cannot reach it, and the AppHost must put its data where it can.
    /// </summary>
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("personagym-apphost-tests-").FullName;

    /// <summary>The Api's first operator key, given to the AppHost as its <c>api-key</c> parameter.</summary>
    public string ApiKey { get; } = "pgk_test_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    /// <summary>A client of the Api that sends <see cref="ApiKey"/>.</summary>
    public HttpClient ApiClient()
    {
        var http = App.CreateHttpClient("api");
        http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return http;
    }

    /// <summary>
    /// More AppHost configuration, such as a loopback provider in <c>PersonaGym:Endpoints:Allowed</c> or the LLM layer's
    /// <c>PersonaGym:Models</c> limits: the AppHost passes both sections to every service.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    private DistributedApplication? _app;
    private ResourceWatch? _watch;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The application has not started.");

    /// <summary>Every resource's state and last log lines, for a failure message.</summary>
    public string DescribeResources() => _watch?.Describe() ?? "(the application was not built)";

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.PersonaGym_AppHost>(
            ["--Infrastructure:Mode=local", $"--Infrastructure:DataDirectory={DataDirectory}", "--Judge:Replicas=2", "--AgentRunner:Replicas=2", $"--Parameters:api-key={ApiKey}",
             .. Settings.Select(setting => $"--{setting.Key}={setting.Value}")],
            timeout.Token);

        // The AppHost forwards every resource's console to its own log, and a whole run is tens of thousands of
        // lines: a failing test quotes what matters instead (ResourceWatch).
        builder.Services.AddLogging(logging => logging
            .AddFilter("PersonaGym.AppHost.Resources", LogLevel.None)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
            .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning));

        _app = await builder.BuildAsync(timeout.Token);
        _watch = new ResourceWatch(_app);
        try
        {
            await _app.StartAsync(timeout.Token);

            var notifications = _app.Services.GetRequiredService<ResourceNotificationService>();
            foreach (var name in ResourceNames)
            {
                await notifications.WaitForResourceHealthyAsync(name, timeout.Token);
            }
        }
        catch (Exception exception)
        {
            var what = timeout.IsCancellationRequested
                ? $"did not become healthy within {StartTimeout}"
                : $"failed to start ({exception.GetType().Name}: {exception.Message.Split('\n', 2)[0]})";
            throw new InvalidOperationException(
                $"The system {what}. Resources:{Environment.NewLine}{DescribeResources()}", exception);
        }
    }

    public async Task DisposeAsync()
    {
        if (_watch is not null)
        {
            await _watch.DisposeAsync();
        }

        // PostgreSQL's folder, wherever the AppHost put it (inside DataDirectory or under the shared data root);
        // outside DataDirectory it sits in a folder of its own, named after the data directory: that goes too.
        var postgresDirectory = _app?.Services.GetRequiredService<DistributedApplicationModel>()
            .Resources.OfType<LocalPostgresServerResource>().SingleOrDefault()?.WorkingDirectory;
        var ownFolder = postgresDirectory is not null && !postgresDirectory.StartsWith(DataDirectory + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? Path.GetDirectoryName(postgresDirectory)
            : null;

        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        foreach (var directory in new[] { ownFolder, DataDirectory })
        {
            if (directory is not null && Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
