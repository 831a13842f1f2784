using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every PersonaGym host shares: OpenTelemetry, health checks, service discovery and resilient
/// HTTP clients (the shape of the Aspire service-defaults template), plus PersonaGym's own traces and meters.
/// </summary>
public static class Extensions
{
    /// <summary>The activity source and meter name PersonaGym's own code reports under.</summary>
    public const string PersonaGymTelemetryName = "PersonaGym";

    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";

    private static readonly TimeSpan HealthCheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Traces other libraries emit that we want to see next to our own.</summary>
    private static readonly string[] TracingSources =
    [
        PersonaGymTelemetryName,
        "MassTransit",
        // Microsoft.Extensions.AI's UseOpenTelemetry() reports under this (still experimental) name.
        "Experimental.Microsoft.Extensions.AI",
        "Npgsql",
    ];

    private static readonly string[] Meters =
    [
        PersonaGymTelemetryName,
        "MassTransit",
        "Experimental.Microsoft.Extensions.AI",
        "Npgsql",
    ];

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // MassTransit reports usage to its vendor unless told not to; we send nothing anywhere.
        // Set before any bus is configured, because MassTransit reads it once.
        Environment.SetEnvironmentVariable("MASSTRANSIT_USAGE_TELEMETRY", "false");

        builder.ConfigureOpenTelemetry();

        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();

        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // Export only where a collector is named (the Aspire dashboard sets this variable). Without one, nothing would
        // leave the process, so no spans, metrics or log records are made at all, instead of a span for every SQL
        // statement, message and model call that is dropped at once (telemetry as a whole is 13-15 MB of a worker's
        // peak under the AppHost: bench/README.md, eleventh round). The instruments stay, for a listener in the
        // process (a test) to read.
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])) return builder;

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter(Meters);
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(builder.Environment.ApplicationName)
                    .AddSource(TracingSources)
                    .AddAspNetCoreInstrumentation(options =>
                        // Health probes arrive every few seconds and would drown the real traces.
                        options.Filter = context =>
                            !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                            && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                    .AddHttpClientInstrumentation();
            });

        builder.Services.AddOpenTelemetry().UseOtlpExporter();

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            // Liveness: the process answers. Readiness checks (database, broker) added by the
            // integrations run on /health only.
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);

        // A check of a server that does not answer (a stopped database behind connection retries, a broker being
        // reconnected) counts as unhealthy after a few seconds, so /health answers "unhealthy" instead of hanging.
        builder.Services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations.Where(r => r.Timeout == Timeout.InfiniteTimeSpan))
                registration.Timeout = HealthCheckTimeout;
        });

        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (ready: every registered check passes) and <c>/alive</c> (live: the process answers).
    /// </summary>
    /// <remarks>
    /// Unlike the Aspire template these are mapped in every environment, not only in Development:
    /// in production the services run as containers behind an ingress, and the container platform's
    /// probes (Azure Container Apps, Kubernetes) need both endpoints. The responses carry only the
    /// overall status, no check details, so exposing them reveals nothing about the system.
    /// </remarks>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Open to everyone, also where a service requires authentication everywhere else: probes carry no credentials.
        app.MapHealthChecks(HealthEndpointPath).AllowAnonymous();

        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains("live")
        }).AllowAnonymous();

        return app;
    }
}
