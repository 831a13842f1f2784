using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PersonaGym.Models;

public static class PersonaGymPipelineBuilderExtensions
{
    /// <summary>The ActivitySource / Meter name of model calls, registered by ServiceDefaults.</summary>
    public const string TelemetrySourceName = "PersonaGym";

    /// <summary>
    /// Composes PersonaGym's call pipeline over a provider client, outermost first:
    /// usage recording → logging → response cache → OpenTelemetry → retry with backoff → rate and concurrency limits → per-attempt timeout → provider.
    /// </summary>
    /// <remarks>
    /// Why this order: recording sits outside the cache so cache hits are accounted; telemetry sits inside it so spans and
    /// token metrics describe real provider calls only; retries sit outside the limiter so a call waiting to retry holds
    /// no slot and every attempt counts against the request budget; the timeout bounds each attempt, not the queueing.
    /// </remarks>
    /// <param name="builder">A builder over the provider client (from <see cref="ModelClientFactory.CreateChatClient"/>).</param>
    /// <param name="spec">The model.</param>
    /// <param name="settings">Its effective settings (<see cref="ModelPipelineOptions.For"/>).</param>
    /// <param name="limiter">The model's limiter; share one per model across all clients of the process.</param>
    /// <param name="recorder">Receives one record per call.</param>
    /// <param name="cache">The response store; <c>null</c> (or <see cref="ModelPipelineSettings.CacheEnabled"/> false) disables caching.</param>
    /// <param name="loggerFactory">For logging and telemetry.</param>
    /// <param name="timeProvider">Clock for backoff and rate windows.</param>
    /// <summary>Set to <c>true</c> to export prompt and answer content in telemetry spans (off by default).</summary>
    public const string TelemetryContentVariable = "PERSONAGYM_TELEMETRY_CONTENT";

    /// <summary>True when <see cref="TelemetryContentVariable"/> is <c>true</c>.</summary>
    public static bool TelemetryContentEnabled() =>
        string.Equals(Environment.GetEnvironmentVariable(TelemetryContentVariable), "true", StringComparison.OrdinalIgnoreCase);

    public static ChatClientBuilder UsePersonaGymPipeline(
        this ChatClientBuilder builder,
        ModelSpec spec,
        ModelPipelineSettings settings,
        ModelRateLimiter limiter,
        ILlmCallRecorder recorder,
        IDistributedCache? cache,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(limiter);
        ArgumentNullException.ThrowIfNull(recorder);
        var time = timeProvider ?? TimeProvider.System;
        var loggers = loggerFactory ?? NullLoggerFactory.Instance;

        builder.Use(inner => new UsageRecordingChatClient(inner, spec, recorder, time));
        builder.UseLogging(loggers);
        if (cache is not null && settings.CacheEnabled)
        {
            var expiring = new ExpiringDistributedCache(cache, settings.CacheLifetime);
            builder.Use(inner => new ModelResponseCachingChatClient(inner, expiring, spec));
        }

        // Prompts and answers (personas, questions, in-character answers) leave the process in spans only when the
        // operator switches it on; OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT alone does not.
        builder.UseOpenTelemetry(loggers, TelemetrySourceName, telemetry => telemetry.EnableSensitiveData = TelemetryContentEnabled());
        builder.Use(inner => new RetryingChatClient(inner, spec, settings, time, loggers.CreateLogger<ModelPipelineFactory>()));
        builder.Use(inner => new RateLimitingChatClient(inner, limiter));
        builder.Use(inner => new AttemptTimeoutChatClient(inner, spec, settings.Timeout));
        return builder;
    }
}
