namespace PersonaGym.Models;

/// <summary>
/// How calls to models are paced, retried, timed out and cached. Bound from configuration section
/// <see cref="SectionName"/>; <see cref="Overrides"/> adjust single models or whole providers.
/// </summary>
/// <example>
/// <code>
/// "PersonaGym": { "Models": {
///   "MaxAttempts": 5, "MaxConcurrency": 64, "RequestsPerMinute": 500, "TokensPerMinute": 200000,
///   "Overrides": [ { "Model": "anthropic", "MaxConcurrency": 2 },
///                  { "Model": "ollama:llama3.1", "Timeout": "00:10:00" } ] } }
/// </code>
/// </example>
public sealed class ModelPipelineOptions
{
    public const string SectionName = "PersonaGym:Models";

    /// <summary>Attempts per call, the first included. 1 means no retry.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>Backoff before the second attempt; doubled for each further attempt (with jitter).</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the computed backoff. A longer Retry-After from the provider is still honoured.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Ceiling of calls to one model in flight at once, per process; absent = only what the provider accepts
    /// (up to <see cref="ModelRateLimiter.UnconfiguredCeiling"/>). With <see cref="AdaptiveConcurrency"/> off it is the fixed limit.
    /// </summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>
    /// Whether each model's concurrency adapts to what its provider accepts: it starts at <see cref="InitialConcurrency"/>,
    /// grows while calls succeed and latency holds, and backs off on 429/503, Retry-After, rate-limit headers and rising latency.
    /// </summary>
    public bool AdaptiveConcurrency { get; set; } = true;

    /// <summary>
    /// Calls in flight a model starts with before it has learnt anything about its provider (the fixed limit with
    /// <see cref="AdaptiveConcurrency"/> off and no <see cref="MaxConcurrency"/>). 16, not 4: slow start from 4 took two
    /// more round trips to reach a capacity of 64, about a second of a 0.5 s model's run (bench/README.md, tenth round);
    /// a provider that takes fewer refuses the first burst, and the limit halves from there; one that queues instead
    /// (a small local server) is found by its rising latency, which still takes the limit down to 4.
    /// </summary>
    public int InitialConcurrency { get; set; } = DefaultInitialConcurrency;

    /// <summary>The default of <see cref="InitialConcurrency"/>, shared with <see cref="ModelPipelineSettings"/>.</summary>
    public const int DefaultInitialConcurrency = 16;

    /// <summary>How far recent latency may rise above the model's best recent latency before concurrency is reduced (2 = twice as slow).</summary>
    public double LatencyTolerance { get; set; } = 2.0;

    /// <summary>Requests started per rolling minute, per model and process; 0 or absent = unlimited.</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>Tokens (input + output, as reported by the provider) per rolling minute, per model and process; 0 or absent = unlimited.</summary>
    public long? TokensPerMinute { get; set; }

    /// <summary>Time allowed for one attempt.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether responses are served from and stored in the response cache.</summary>
    public bool CacheEnabled { get; set; } = true;

    /// <summary>
    /// How long a cached response is served (a re-run or resume within it costs nothing); afterwards it is deleted by
    /// the pruner (<c>PersonaGym:Pipeline:CachePruneInterval</c>), so the cache stays bounded.
    /// </summary>
    public TimeSpan CacheLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Per-model or per-provider settings. Provider-wide entries apply first, then the entry for the exact spec.</summary>
    public List<ModelPipelineOverride> Overrides { get; set; } = [];

    /// <summary>The effective settings for <paramref name="spec"/>.</summary>
    public ModelPipelineSettings For(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var settings = General();
        foreach (var entry in Overrides.Where(o => string.Equals(o.Model?.Trim(), spec.Provider, StringComparison.OrdinalIgnoreCase)))
        {
            settings = entry.ApplyTo(settings);
        }

        foreach (var entry in Overrides.Where(o => string.Equals(o.Model?.Trim(), spec.Text, StringComparison.OrdinalIgnoreCase)))
        {
            settings = entry.ApplyTo(settings);
        }

        return settings;
    }

    private ModelPipelineSettings General() =>
        new(MaxAttempts, BaseDelay, MaxDelay, MaxConcurrency, RequestsPerMinute, TokensPerMinute, Timeout, CacheEnabled, AdaptiveConcurrency, InitialConcurrency, LatencyTolerance) { CacheLifetime = CacheLifetime };

    /// <summary>Every invalid setting, described; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        Check(problems, "", General());
        for (var i = 0; i < Overrides.Count; i++)
        {
            var entry = Overrides[i];
            var prefix = $"Overrides[{i}].";
            if (string.IsNullOrWhiteSpace(entry.Model))
            {
                problems.Add($"{SectionName}:{prefix}Model must name a model spec (e.g. openai:gpt-4o-mini) or a provider (e.g. anthropic).");
                continue;
            }

            if (!ModelProviders.All.Contains(entry.Model.Trim().ToLowerInvariant()) && !ModelSpec.TryParse(entry.Model, out _, out var error))
            {
                problems.Add($"{SectionName}:{prefix}Model: {error}");
            }

            Check(problems, prefix, entry.ApplyTo(General()));
        }

        return problems;
    }

    private static void Check(List<string> problems, string prefix, ModelPipelineSettings s)
    {
        if (s.CacheLifetime <= TimeSpan.Zero) problems.Add($"{SectionName}:{prefix}CacheLifetime must be positive.");
        if (s.MaxAttempts < 1) problems.Add($"{SectionName}:{prefix}MaxAttempts must be at least 1.");
        if (s.BaseDelay < TimeSpan.Zero) problems.Add($"{SectionName}:{prefix}BaseDelay must not be negative.");
        if (s.MaxDelay < s.BaseDelay) problems.Add($"{SectionName}:{prefix}MaxDelay must not be shorter than BaseDelay.");
        if (s.MaxConcurrency < 1) problems.Add($"{SectionName}:{prefix}MaxConcurrency must be at least 1 (leave it out to let the provider decide).");
        if (s.InitialConcurrency < 1) problems.Add($"{SectionName}:{prefix}InitialConcurrency must be at least 1.");
        if (!(s.LatencyTolerance > 1)) problems.Add($"{SectionName}:{prefix}LatencyTolerance must be greater than 1.");
        if (s.RequestsPerMinute < 0) problems.Add($"{SectionName}:{prefix}RequestsPerMinute must not be negative.");
        if (s.TokensPerMinute < 0) problems.Add($"{SectionName}:{prefix}TokensPerMinute must not be negative.");
        if (s.Timeout <= TimeSpan.Zero && s.Timeout != System.Threading.Timeout.InfiniteTimeSpan) problems.Add($"{SectionName}:{prefix}Timeout must be positive.");
    }
}

/// <summary>Settings for one model (exact spec text) or one provider (provider name); absent values keep the general ones.</summary>
public sealed class ModelPipelineOverride
{
    public string Model { get; set; } = string.Empty;
    public int? MaxAttempts { get; set; }
    public TimeSpan? BaseDelay { get; set; }
    public TimeSpan? MaxDelay { get; set; }
    public int? MaxConcurrency { get; set; }
    public int? RequestsPerMinute { get; set; }
    public long? TokensPerMinute { get; set; }
    public TimeSpan? Timeout { get; set; }
    public bool? CacheEnabled { get; set; }
    public TimeSpan? CacheLifetime { get; set; }
    public bool? AdaptiveConcurrency { get; set; }
    public int? InitialConcurrency { get; set; }
    public double? LatencyTolerance { get; set; }

    internal ModelPipelineSettings ApplyTo(ModelPipelineSettings s) => new(
        MaxAttempts ?? s.MaxAttempts,
        BaseDelay ?? s.BaseDelay,
        MaxDelay ?? s.MaxDelay,
        MaxConcurrency ?? s.MaxConcurrency,
        RequestsPerMinute ?? s.RequestsPerMinute,
        TokensPerMinute ?? s.TokensPerMinute,
        Timeout ?? s.Timeout,
        CacheEnabled ?? s.CacheEnabled,
        AdaptiveConcurrency ?? s.AdaptiveConcurrency,
        InitialConcurrency ?? s.InitialConcurrency,
        LatencyTolerance ?? s.LatencyTolerance)
    {
        CacheLifetime = CacheLifetime ?? s.CacheLifetime,
    };
}

/// <summary>The effective pipeline settings of one model.</summary>
public sealed record ModelPipelineSettings(
    int MaxAttempts,
    TimeSpan BaseDelay,
    TimeSpan MaxDelay,
    int? MaxConcurrency,
    int? RequestsPerMinute,
    long? TokensPerMinute,
    TimeSpan Timeout,
    bool CacheEnabled,
    bool AdaptiveConcurrency = true,
    int InitialConcurrency = ModelPipelineOptions.DefaultInitialConcurrency,
    double LatencyTolerance = 2.0)
{
    /// <summary>How long a cached response is kept; 30 days unless configured.</summary>
    public TimeSpan CacheLifetime { get; init; } = TimeSpan.FromDays(30);
}
