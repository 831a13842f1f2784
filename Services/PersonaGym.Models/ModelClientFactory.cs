using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Azure.AI.OpenAI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using OllamaSharp;
using OpenAI;
using AnthropicClientOptions = Anthropic.Core.ClientOptions;

namespace PersonaGym.Models;

/// <summary>
/// Creates the provider <see cref="IChatClient"/> for a <see cref="ModelSpec"/> through each provider's official SDK,
/// and checks up front that every spec of a run can be served (known provider, key present, endpoint known),
/// so a run never starts and then fails on its first call.
/// </summary>
/// <remarks>
/// Keys are looked up in configuration (<c>PersonaGym:Providers:{provider}:ApiKey</c>), then in the usual environment
/// variables. They are handed to the SDK and to the failure translator (to scrub them from messages) and nowhere else.
/// SDK-level retries are switched off: the pipeline's retry layer is the only one, so attempts are counted once.
/// </remarks>
public sealed class ModelClientFactory
{
    /// <summary>Sent to OpenAI-compatible servers that need no key; the SDK refuses an empty credential.</summary>
    internal const string KeylessPlaceholder = "no-key-required";

    private readonly IConfiguration _configuration;
    private readonly Func<string, IChatClient> _offlineFactory;
    private readonly Func<string, string?> _environment;
    private readonly ModelEndpointPolicy _endpoints;

    /// <param name="configuration">Holds provider keys and endpoints.</param>
    /// <param name="offlineFactory">Creates the deterministic offline client for a model name (the composition root supplies it).</param>
    /// <param name="environment">Reads environment variables; defaults to the process environment (tests pass their own).</param>
    public ModelClientFactory(
        IConfiguration configuration,
        Func<string, IChatClient> offlineFactory,
        Func<string, string?>? environment = null)
    {
        _configuration = configuration ?? throw new ArgumentNullException(nameof(configuration));
        _offlineFactory = offlineFactory ?? throw new ArgumentNullException(nameof(offlineFactory));
        _environment = environment ?? Environment.GetEnvironmentVariable;
        _endpoints = ModelEndpointPolicy.From(configuration);
    }

    /// <summary>Which endpoints specs may name (<c>PersonaGym:Endpoints</c>).</summary>
    public ModelEndpointPolicy Endpoints => _endpoints;

    /// <summary>Every problem with the given spec texts (parse errors included), without calling any model.</summary>
    public IReadOnlyList<ModelSpecProblem> Validate(IEnumerable<string> specTexts)
    {
        var problems = new List<ModelSpecProblem>();
        var parsed = new List<ModelSpec>();
        foreach (var text in specTexts)
        {
            if (ModelSpec.TryParse(text, out var spec, out var error))
            {
                parsed.Add(spec);
            }
            else
            {
                problems.Add(new ModelSpecProblem(text, error));
            }
        }

        problems.AddRange(Validate(parsed));
        return problems;
    }

    /// <summary>Every problem with the given specs (unknown provider, missing key, missing endpoint), without calling any model.</summary>
    public IReadOnlyList<ModelSpecProblem> Validate(IEnumerable<ModelSpec> specs)
    {
        var problems = new List<ModelSpecProblem>();
        foreach (var spec in specs.DistinctBy(s => s.Text))
        {
            _ = Resolve(spec, problems);
        }

        return problems;
    }

    /// <summary>
    /// Creates the provider client for <paramref name="spec"/>. Its failures surface as <see cref="ModelCallException"/>
    /// naming the model and carrying the HTTP status, with the key scrubbed from every message.
    /// </summary>
    /// <param name="spec">The model.</param>
    /// <param name="networkTimeout">Timeout the SDK applies to one HTTP exchange; <c>null</c> keeps the SDK default.</param>
    /// <param name="observeRateLimits">Receives the rate-limit headers of every HTTP response (the model's limiter learns from them).</param>
    public IChatClient CreateChatClient(ModelSpec spec, TimeSpan? networkTimeout = null, Action<ProviderRateLimits>? observeRateLimits = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = new List<ModelSpecProblem>();
        var resolved = Resolve(spec, problems);
        if (resolved is null)
        {
            throw new ModelConfigurationException(problems);
        }

        var client = spec.Provider switch
        {
            ModelProviders.OpenAI => CreateOpenAI(spec, resolved, networkTimeout, observeRateLimits),
            ModelProviders.AzureOpenAI => CreateAzureOpenAI(spec, resolved, networkTimeout, observeRateLimits),
            ModelProviders.Anthropic => CreateAnthropic(spec, resolved, networkTimeout, observeRateLimits),
            ModelProviders.Ollama => CreateOllama(spec, resolved, networkTimeout, observeRateLimits),
            ModelProviders.Offline => _offlineFactory(spec.Model),
            _ => throw new ModelConfigurationException([new ModelSpecProblem(spec.Text, $"Unknown provider '{spec.Provider}'.")]),
        };

        return new ProviderFailureTranslatingChatClient(client, spec, resolved.ApiKey);
    }

    private static IChatClient CreateOpenAI(ModelSpec spec, ResolvedProvider resolved, TimeSpan? networkTimeout, Action<ProviderRateLimits>? observe)
    {
        var options = new OpenAIClientOptions { RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
        if (resolved.Endpoint is not null)
        {
            options.Endpoint = resolved.Endpoint;
        }

        ConfigurePipeline(options, networkTimeout, observe);
        return new OpenAI.Chat.ChatClient(spec.Model, new ApiKeyCredential(resolved.ApiKey!), options).AsIChatClient();
    }

    private static IChatClient CreateAzureOpenAI(ModelSpec spec, ResolvedProvider resolved, TimeSpan? networkTimeout, Action<ProviderRateLimits>? observe)
    {
        var options = new AzureOpenAIClientOptions { RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
        ConfigurePipeline(options, networkTimeout, observe);
        var azure = new AzureOpenAIClient(resolved.Endpoint!, new ApiKeyCredential(resolved.ApiKey!), options);
        return azure.GetChatClient(spec.Model).AsIChatClient();
    }

    private static IChatClient CreateAnthropic(ModelSpec spec, ResolvedProvider resolved, TimeSpan? networkTimeout, Action<ProviderRateLimits>? observe)
    {
        var options = new AnthropicClientOptions { ApiKey = resolved.ApiKey, MaxRetries = 0 };
        if (resolved.Endpoint is not null)
        {
            options.BaseUrl = resolved.Endpoint.ToString().TrimEnd('/');
        }

        if (networkTimeout is { } timeout)
        {
            options.Timeout = timeout;
        }

        if (observe is not null)
        {
            // The SDK bounds each request with options.Timeout itself.
            options.HttpClient = ObservedHttpClient(observe, Timeout.InfiniteTimeSpan);
        }

        return new AnthropicClient(options).AsIChatClient(spec.Model);
    }

    private static IChatClient CreateOllama(ModelSpec spec, ResolvedProvider resolved, TimeSpan? networkTimeout, Action<ProviderRateLimits>? observe)
    {
        var http = observe is null ? new HttpClient() : ObservedHttpClient(observe, TimeSpan.FromSeconds(100));
        http.BaseAddress = resolved.Endpoint;
        if (resolved.ApiKey is { } key)
        {
            // An allow-listed Ollama behind a proxy that wants a bearer key.
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        if (networkTimeout is { } timeout)
        {
            http.Timeout = timeout;
        }

        return new OllamaApiClient(http, spec.Model);
    }

    private static void ConfigurePipeline(ClientPipelineOptions options, TimeSpan? networkTimeout, Action<ProviderRateLimits>? observe)
    {
        if (networkTimeout is { } timeout)
        {
            options.NetworkTimeout = timeout;
        }

        if (observe is not null)
        {
            // The pipeline applies NetworkTimeout per try; HttpClient's own 100 s default must not cut it shorter.
            options.Transport = new HttpClientPipelineTransport(ObservedHttpClient(observe, Timeout.InfiniteTimeSpan));
        }
    }

    /// <summary>
    /// An HttpClient whose responses pass their rate-limit headers to <paramref name="observe"/> and their status to the
    /// call's <see cref="ProviderExchange"/>, over one connection pool shared by every model of the process (connections
    /// are recycled so DNS changes are seen).
    /// </summary>
    private static HttpClient ObservedHttpClient(Action<ProviderRateLimits> observe, TimeSpan timeout) =>
        new(new ProviderExchangeHandler { InnerHandler = new ProviderRateLimitHandler(observe, TimeProvider.System) { InnerHandler = SharedConnections } },
            disposeHandler: false) { Timeout = timeout };

    private static readonly SocketsHttpHandler SharedConnections = new() { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };

    private ResolvedProvider? Resolve(ModelSpec spec, List<ModelSpecProblem> problems)
    {
        var before = problems.Count;
        string? key = null;
        Uri? endpoint = spec.Endpoint;

        // A spec that names its own endpoint gets it only when the operator allows it, and then only that
        // endpoint's own key: a provider key goes to the provider's own (or configured) endpoint and nowhere else.
        string? listedKey = null;
        var listed = false;
        if (spec.Endpoint is { } named && spec.Provider != ModelProviders.Offline)
        {
            listed = _endpoints.TryMatch(named, out listedKey);
            foreach (var problem in _endpoints.Problems) problems.Add(new ModelSpecProblem(spec.Text, problem));
        }

        switch (spec.Provider)
        {
            case ModelProviders.OpenAI when spec.Endpoint is null:
                key = Lookup(ModelProviders.OpenAI, "ApiKey", ModelProviders.OpenAIKeyVariable);
                if (key is null)
                {
                    problems.Add(MissingKey(spec, "an OpenAI API key", ModelProviders.OpenAIKeyVariable, ModelProviders.OpenAI));
                }

                break;

            case ModelProviders.OpenAI:
                RequireAllowed(spec, listed, problems);
                // Local and self-hosted OpenAI-compatible servers usually take no key; the SDK still needs one.
                key = listedKey ?? Lookup(ModelProviders.OpenAICompatibleSection, "ApiKey", ModelProviders.OpenAICompatibleKeyVariable) ?? KeylessPlaceholder;
                break;

            case ModelProviders.AzureOpenAI:
            {
                var beforeEndpoint = problems.Count;
                var configured = LookupUri(ModelProviders.AzureOpenAI, ModelProviders.AzureOpenAIEndpointVariable, spec, problems);
                var endpointUnreadable = problems.Count != beforeEndpoint;
                endpoint ??= configured;
                var ownEndpoint = spec.Endpoint is null || (configured is not null && ModelEndpointPolicy.SameOrigin(configured, spec.Endpoint));
                if (!ownEndpoint) RequireAllowed(spec, listed, problems);
                key = ownEndpoint || (_endpoints.AllowAny && listedKey is null)
                    ? Lookup(ModelProviders.AzureOpenAI, "ApiKey", ModelProviders.AzureOpenAIKeyVariable)
                    : listedKey;
                if (key is null)
                {
                    problems.Add(ownEndpoint || _endpoints.AllowAny
                        ? MissingKey(spec, "an Azure OpenAI API key", ModelProviders.AzureOpenAIKeyVariable, ModelProviders.AzureOpenAI)
                        : MissingEndpointKey(spec, "Azure OpenAI", ModelProviders.AzureOpenAIEndpointVariable));
                }

                if (endpoint is null && !endpointUnreadable)
                {
                    problems.Add(new ModelSpecProblem(spec.Text,
                        $"Azure OpenAI needs the resource endpoint: write the spec as azure-openai:<deployment>@https://<resource>.openai.azure.com, " +
                        $"or set the {ModelProviders.AzureOpenAIEndpointVariable} environment variable or configuration key {ModelProviders.ConfigurationSection}:{ModelProviders.AzureOpenAI}:Endpoint."));
                }

                break;
            }

            case ModelProviders.Anthropic:
                if (spec.Endpoint is not null) RequireAllowed(spec, listed, problems);
                key = spec.Endpoint is null || (_endpoints.AllowAny && listedKey is null)
                    ? Lookup(ModelProviders.Anthropic, "ApiKey", ModelProviders.AnthropicKeyVariable)
                    : listedKey;
                if (key is null)
                {
                    problems.Add(spec.Endpoint is null || _endpoints.AllowAny
                        ? MissingKey(spec, "an Anthropic API key", ModelProviders.AnthropicKeyVariable, ModelProviders.Anthropic)
                        : MissingEndpointKey(spec, "Anthropic", ModelProviders.AnthropicKeyVariable));
                }

                break;

            case ModelProviders.Ollama:
            {
                var configured = LookupUri(ModelProviders.Ollama, ModelProviders.OllamaHostVariable, spec, problems);
                if (spec.Endpoint is not null && !(configured is not null && ModelEndpointPolicy.SameOrigin(configured, spec.Endpoint)))
                {
                    RequireAllowed(spec, listed, problems);
                }
                else if (spec.Endpoint is null && configured is null && !_endpoints.AllowAny && !_endpoints.TryMatch(ModelProviders.DefaultOllamaEndpoint, out _))
                {
                    // The default is a loopback address: a server calls it only when the operator says so.
                    problems.Add(new ModelSpecProblem(spec.Text,
                        $"Ollama has no endpoint configured here: set {ModelProviders.OllamaHostVariable} (or {ModelProviders.ConfigurationSection}:{ModelProviders.Ollama}:Endpoint), " +
                        $"or list {ModelProviders.DefaultOllamaEndpoint} in {ModelEndpointPolicy.Section}:Allowed."));
                }

                endpoint ??= configured ?? ModelProviders.DefaultOllamaEndpoint;
                key = listedKey;
                break;
            }

            case ModelProviders.Offline:
                break;

            default:
                problems.Add(new ModelSpecProblem(spec.Text, $"Unknown provider '{spec.Provider}'. Valid forms: {ModelSpec.ValidForms}."));
                break;
        }

        return problems.Count == before ? new ResolvedProvider(key, endpoint) : null;
    }

    private void RequireAllowed(ModelSpec spec, bool listed, List<ModelSpecProblem> problems)
    {
        if (!listed && !_endpoints.AllowAny) problems.Add(new ModelSpecProblem(spec.Text, ModelEndpointPolicy.Refusal(spec.Endpoint!)));
    }

    private static ModelSpecProblem MissingEndpointKey(ModelSpec spec, string provider, string variable) =>
        new(spec.Text, $"No key is configured for {spec.Endpoint!.GetLeftPart(UriPartial.Authority)}: {provider}'s key ({variable}) is sent only to its own endpoint; " +
                       $"give this endpoint its own key in {ModelEndpointPolicy.Section}:Allowed:<n>:ApiKey.");

    private static ModelSpecProblem MissingKey(ModelSpec spec, string what, string variable, string section) =>
        new(spec.Text, $"Model '{spec.Text}' needs {what}: set the {variable} environment variable or the configuration key {ModelProviders.ConfigurationSection}:{section}:ApiKey.");

    private string? Lookup(string section, string setting, string variable)
    {
        var value = _configuration[$"{ModelProviders.ConfigurationSection}:{section}:{setting}"];
        if (string.IsNullOrWhiteSpace(value))
        {
            value = _configuration[variable];
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            value = _environment(variable);
        }

        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private Uri? LookupUri(string section, string variable, ModelSpec spec, List<ModelSpecProblem> problems)
    {
        var text = Lookup(section, "Endpoint", variable);
        if (text is null)
        {
            return null;
        }

        // OLLAMA_HOST is often written without a scheme ("127.0.0.1:11434"), as the ollama CLI accepts it.
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return uri;
        }

        problems.Add(new ModelSpecProblem(spec.Text, $"The endpoint configured in {variable} / {ModelProviders.ConfigurationSection}:{section}:Endpoint is not an absolute URL."));
        return null;
    }

    /// <summary>What a spec resolves to. Deliberately not a record: a generated ToString would print the key.</summary>
    private sealed class ResolvedProvider(string? apiKey, Uri? endpoint)
    {
        public string? ApiKey { get; } = apiKey;

        public Uri? Endpoint { get; } = endpoint;

        public override string ToString() => $"Endpoint={Endpoint}";
    }
}
