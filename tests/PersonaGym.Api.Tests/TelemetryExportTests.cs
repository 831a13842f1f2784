using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace PersonaGym.Api.Tests;

/// <summary>The services' telemetry (ServiceDefaults): recorded and exported where a collector is named, not made at all otherwise.</summary>
public sealed class TelemetryExportTests
{
    private static IHost Build(string? collector)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection([new("OTEL_EXPORTER_OTLP_ENDPOINT", collector)]);
        builder.AddServiceDefaults();
        return builder.Build();
    }

    [Fact]
    public void Without_a_collector_no_spans_or_metrics_are_recorded()
    {
        using var host = Build(collector: null);

        Assert.Null(host.Services.GetService<TracerProvider>());
        Assert.Null(host.Services.GetService<MeterProvider>());
    }

    [Fact]
    public void With_a_collector_spans_and_metrics_are_recorded_for_it()
    {
        // Only built, never started: nothing is sent to the address.
        using var host = Build(collector: "http://127.0.0.1:4317");

        Assert.NotNull(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<MeterProvider>());
    }
}
