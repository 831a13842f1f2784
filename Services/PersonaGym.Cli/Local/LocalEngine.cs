using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PersonaGym.Data;
using PersonaGym.Models;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Messaging;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Cli.Local;

/// <summary>
/// The whole pipeline in this process: every stage's consumer on MassTransit's in-memory transport, over the
/// database the user named (SQLite by default). The same consumers the distributed services host.
/// </summary>
public sealed class LocalEngine : IAsyncDisposable
{
    private readonly IHost _host;

    private LocalEngine(IHost host, DatabaseConnection connection)
    {
        _host = host;
        Connection = connection;
    }

    public DatabaseConnection Connection { get; }
    public IServiceProvider Services => _host.Services;
    public RunSubmitter Submitter => Services.GetRequiredService<RunSubmitter>();
    public IBus Bus => Services.GetRequiredService<IBus>();

    public Task<PersonaGymDbContext> OpenAsync(CancellationToken cancellationToken = default) =>
        Services.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>().CreateDbContextAsync(cancellationToken);

    /// <summary>Opens (and migrates) the database; with <paramref name="startBus"/> also starts the pipeline.</summary>
    /// <exception cref="DatabaseUnavailableException">The database cannot be opened.</exception>
    public static async Task<LocalEngine> StartAsync(DatabaseConnection connection, bool startBus, IReadOnlyDictionary<string, string?>? settings = null, CancellationToken cancellationToken = default)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        // Here the person naming the models is the operator, running on their own keys: any endpoint a spec names may be
        // called (a server allows only its allow-list). personagym.json or the environment can narrow it again.
        builder.Configuration.AddInMemoryCollection([new($"{ModelEndpointPolicy.Section}:AllowAny", "true")]);
        builder.Configuration.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "personagym.json"), optional: true);
        builder.Configuration.AddEnvironmentVariables();
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);

        // The CLI's own output is the progress display; logs only say what went wrong.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Error);
        builder.Logging.AddFilter("MassTransit", LogLevel.Critical);
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Critical);

        builder.Services.AddPersonaGymData(connection);
        builder.Services.AddPersonaGymPipeline(builder.Configuration, PipelineStages.All, rabbitMqConnectionString: null);
        if (!startBus)
        {
            // Reading commands (runs, show, export…) need the database only.
            builder.Services.RemoveAll<IHostedService>();
        }

        var host = builder.Build();
        await PersonaGymDatabase.MigrateAsync(host.Services, cancellationToken);
        await host.StartAsync(cancellationToken);
        return new LocalEngine(host, connection);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
