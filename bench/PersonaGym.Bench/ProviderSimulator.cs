using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PersonaGym.Core.Offline;

namespace PersonaGym.Bench;

/// <summary>How the simulated provider behaves.</summary>
/// <param name="Latency">Time to answer, per model name (e.g. bench-agent); <paramref name="DefaultLatency"/> for others.</param>
/// <param name="Capacity">Calls one model serves at once; the next is answered 429 with Retry-After. 0 = unlimited.</param>
/// <param name="RetryAfter">The wait asked for with each 429 (sent as retry-after-ms and as whole seconds in Retry-After).</param>
/// <param name="RateLimitHeaders">Whether answers carry x-ratelimit-remaining-requests (capacity left) as OpenAI's do.</param>
public sealed record SimulatorSettings(
    IReadOnlyDictionary<string, TimeSpan> Latency,
    TimeSpan DefaultLatency,
    int Capacity,
    TimeSpan RetryAfter,
    bool RateLimitHeaders);

/// <summary>Counts of one model at the simulated provider.</summary>
public sealed class ModelTraffic
{
    private int _inFlight;
    private int _maxInFlight;
    private int _served;
    private int _refused;

    public int Served => Volatile.Read(ref _served);

    public int Refused => Volatile.Read(ref _refused);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    internal int Enter()
    {
        var now = Interlocked.Increment(ref _inFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
        {
        }

        return now;
    }

    internal void Leave() => Interlocked.Decrement(ref _inFlight);

    private long _firstStart = long.MaxValue;
    private long _lastEnd;

    /// <summary>When the first served call arrived and the last one was answered (Stopwatch timestamps; 0 if none).</summary>
    public (long First, long Last) Span => Served == 0 ? (0, 0) : (Interlocked.Read(ref _firstStart), Interlocked.Read(ref _lastEnd));

    internal void CountServed(long started)
    {
        Interlocked.Increment(ref _served);
        long seen;
        while (started < (seen = Interlocked.Read(ref _firstStart)) && Interlocked.CompareExchange(ref _firstStart, started, seen) != seen)
        {
        }

        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        while (now > (seen = Interlocked.Read(ref _lastEnd)) && Interlocked.CompareExchange(ref _lastEnd, now, seen) != seen)
        {
        }
    }

    internal void CountRefused() => Interlocked.Increment(ref _refused);

    internal int InFlight => Volatile.Read(ref _inFlight);
}

/// <summary>
/// An OpenAI-compatible chat-completions server on loopback that stands in for a provider: PersonaGym's offline model
/// writes the text (so every stage gets well-formed output), the simulator adds latency per model, a capacity beyond
/// which it refuses with 429 + Retry-After, and optionally OpenAI's rate-limit headers.
/// </summary>
public sealed class ProviderSimulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SimulatorSettings _settings;
    private readonly ConcurrentDictionary<string, OfflineChatClient> _writers = new(StringComparer.Ordinal);

    private ProviderSimulator(WebApplication app, SimulatorSettings settings)
    {
        _app = app;
        _settings = settings;
    }

    public ConcurrentDictionary<string, ModelTraffic> Traffic { get; } = new(StringComparer.Ordinal);

    /// <summary>The OpenAI base URL (ends in /v1).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<ProviderSimulator> StartAsync(SimulatorSettings settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var simulator = new ProviderSimulator(app, settings);
        app.MapPost("/v1/chat/completions", simulator.CompleteAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        simulator.BaseAddress = new Uri(address.TrimEnd('/') + "/v1");
        return simulator;
    }

    private async Task CompleteAsync(HttpContext context)
    {
        var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var model = (string?)body?["model"] ?? "unknown";
        var traffic = Traffic.GetOrAdd(model, _ => new ModelTraffic());
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var inFlight = traffic.Enter();
        try
        {
            if (_settings.Capacity > 0 && inFlight > _settings.Capacity)
            {
                traffic.CountRefused();
                context.Response.StatusCode = 429;
                context.Response.Headers["retry-after-ms"] = ((long)_settings.RetryAfter.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(_settings.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await context.Response.WriteAsJsonAsync(new { error = new { message = "Rate limit reached: too many requests in flight", type = "requests" } });
                return;
            }

            var messages = new List<ChatMessage>();
            foreach (var message in body?["messages"]?.AsArray() ?? [])
            {
                messages.Add(new ChatMessage(new ChatRole((string?)message?["role"] ?? "user"), ContentText(message?["content"])));
            }

            var latency = _settings.Latency.TryGetValue(model, out var l) ? l : _settings.DefaultLatency;
            var writer = _writers.GetOrAdd(model, m => new OfflineChatClient(m));
            var answer = await writer.GetResponseAsync(messages, cancellationToken: context.RequestAborted);
            if (latency > TimeSpan.Zero)
            {
                await Task.Delay(latency, context.RequestAborted);
            }

            var promptTokens = messages.Sum(m => m.Text.Length) / 4 + 1;
            var completionTokens = answer.Text.Length / 4 + 1;
            if (_settings.RateLimitHeaders && _settings.Capacity > 0)
            {
                context.Response.Headers["x-ratelimit-limit-requests"] = _settings.Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.Headers["x-ratelimit-remaining-requests"] = Math.Max(0, _settings.Capacity - traffic.InFlight).ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.Headers["x-ratelimit-reset-requests"] = "0s";
            }

            traffic.CountServed(started);
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-bench",
                @object = "chat.completion",
                created = 1_700_000_000,
                model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = answer.Text }, finish_reason = "stop" } },
                usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens },
            });
        }
        finally
        {
            traffic.Leave();
        }
    }

    private static string ContentText(JsonNode? content) => content switch
    {
        JsonValue value => (string?)value ?? "",
        JsonArray parts => string.Concat(parts.Select(p => (string?)p?["text"] ?? "")),
        _ => "",
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
