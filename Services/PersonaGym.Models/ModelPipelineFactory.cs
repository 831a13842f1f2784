using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;

namespace PersonaGym.Models;

/// <summary>
/// Hands out the composed <see cref="IChatClient"/> of each model: provider client + PersonaGym pipeline.
/// One client (and so one concurrency and rate budget) per model spec for the lifetime of the factory; register it as a singleton.
/// </summary>
public sealed class ModelPipelineFactory : IAsyncDisposable
{
    private readonly ModelClientFactory _clients;
    private readonly ModelPipelineOptions _options;
    private readonly IDistributedCache? _cache;
    private readonly ILlmCallRecorder _recorder;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Lazy<Composed>> _composed = new(StringComparer.Ordinal);
    private readonly Meter _meter;

    public ModelPipelineFactory(
        ModelClientFactory clients,
        ModelPipelineOptions options,
        IDistributedCache? cache,
        ILlmCallRecorder recorder,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null,
        IMeterFactory? meterFactory = null)
    {
        _clients = clients ?? throw new ArgumentNullException(nameof(clients));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _cache = cache;
        _recorder = recorder ?? throw new ArgumentNullException(nameof(recorder));
        _loggerFactory = loggerFactory;
        _time = timeProvider ?? TimeProvider.System;

        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid model pipeline options: " + string.Join(" ", problems), nameof(options));
        }

        _meter = meterFactory?.Create(PersonaGymPipelineBuilderExtensions.TelemetrySourceName) ?? new Meter(PersonaGymPipelineBuilderExtensions.TelemetrySourceName);
        _meter.CreateObservableGauge(ConcurrencyLimitInstrument, () => Measure(c => c.Limit), "{call}",
            "Calls to the model allowed in flight at once in this process; adapts to what the provider accepts.");
        _meter.CreateObservableGauge(InFlightInstrument, () => Measure(c => c.InFlight), "{call}", "Calls to the model in flight in this process.");
        _meter.CreateObservableGauge(WaitingInstrument, () => Measure(c => c.Waiting), "{call}", "Calls to the model waiting for a slot in this process.");
    }

    /// <summary>Gauge of each model's current concurrency limit (tag <c>gen_ai.request.model</c> = model spec).</summary>
    public const string ConcurrencyLimitInstrument = "personagym.model.concurrency.limit";

    /// <summary>Gauge of each model's calls in flight.</summary>
    public const string InFlightInstrument = "personagym.model.calls.in_flight";

    /// <summary>Gauge of each model's calls waiting for a slot.</summary>
    public const string WaitingInstrument = "personagym.model.calls.waiting";

    /// <summary>Every model used so far in this process, with its current concurrency limit, calls in flight and waiting.</summary>
    public IReadOnlyDictionary<string, ModelConcurrency> Concurrency() =>
        _composed.Where(p => p.Value.IsValueCreated)
            .Select(p => (p.Key, Limiter: TryValue(p.Value)?.Limiter))
            .Where(p => p.Limiter is not null)
            .ToDictionary(p => p.Key, p => p.Limiter!.Current, StringComparer.Ordinal);

    private IEnumerable<Measurement<int>> Measure(Func<ModelConcurrency, int> value) =>
        Concurrency().Select(p => new Measurement<int>(value(p.Value), new KeyValuePair<string, object?>("gen_ai.request.model", p.Key)));

    private static Composed? TryValue(Lazy<Composed> lazy)
    {
        try
        {
            return lazy.Value;
        }
        catch (Exception ex) when (ex is ModelConfigurationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Every problem with the specs (parse errors, unknown providers, missing keys or endpoints), before any call.</summary>
    public IReadOnlyList<ModelSpecProblem> Validate(IEnumerable<string> specTexts) => _clients.Validate(specTexts);

    /// <inheritdoc cref="Validate(IEnumerable{string})"/>
    public IReadOnlyList<ModelSpecProblem> Validate(IEnumerable<ModelSpec> specs) => _clients.Validate(specs);

    /// <summary>The composed client for a spec text; throws <see cref="FormatException"/> or <see cref="ModelConfigurationException"/>.</summary>
    public IChatClient GetChatClient(string specText) => GetChatClient(ModelSpec.Parse(specText));

    /// <summary>The composed client for <paramref name="spec"/>, created on first use and shared afterwards.</summary>
    public IChatClient GetChatClient(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var lazy = _composed.GetOrAdd(spec.Text, _ => new Lazy<Composed>(() => Compose(spec), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value.Client;
        }
        catch
        {
            // A spec that failed to compose (e.g. missing key) must not stay cached as a failure once fixed.
            _composed.TryRemove(new KeyValuePair<string, Lazy<Composed>>(spec.Text, lazy));
            throw;
        }
    }

    private Composed Compose(ModelSpec spec)
    {
        var settings = _options.For(spec);
        var limiter = new ModelRateLimiter(settings, _time);
        var provider = _clients.CreateChatClient(spec, settings.Timeout == Timeout.InfiniteTimeSpan ? null : settings.Timeout, limiter.Observe);
        var client = new ChatClientBuilder(provider)
            .UsePersonaGymPipeline(spec, settings, limiter, _recorder, _cache, _loggerFactory, _time)
            .Build();
        return new Composed(client, limiter);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _composed.Values.Where(l => l.IsValueCreated))
        {
            lazy.Value.Client.Dispose();
            await lazy.Value.Limiter.DisposeAsync().ConfigureAwait(false);
        }

        _composed.Clear();
        _meter.Dispose();
    }

    private sealed record Composed(IChatClient Client, ModelRateLimiter Limiter);
}
