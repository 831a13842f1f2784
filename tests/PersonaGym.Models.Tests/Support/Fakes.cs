using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace PersonaGym.Models.Tests.Support;

public sealed class ListRecorder : ILlmCallRecorder
{
    public ConcurrentQueue<LlmCallRecord> Records { get; } = new();

    public ValueTask RecordAsync(LlmCallRecord record, CancellationToken cancellationToken)
    {
        Records.Enqueue(record);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A chat client answered by a callback, standing in for the offline provider.</summary>
public sealed class CallbackChatClient(Func<IReadOnlyList<ChatMessage>, ChatOptions?, CancellationToken, Task<ChatResponse>> respond) : IChatClient
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        return respond(messages.ToList(), options, cancellationToken);
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The tests call the non-streaming API only.");

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

public static class TestModels
{
    public const string OpenAIKey = "sk-test-0123456789abcdefSECRET";
    public const string AnthropicKey = "sk-ant-test-9876543210SECRET";

    /// <summary>
    /// Configuration for the wire tests, which name their loopback stubs in specs as the CLI's user would: any endpoint
    /// is allowed unless the test sets <c>PersonaGym:Endpoints:AllowAny</c> itself (the allow-list tests do).
    /// </summary>
    public static IConfiguration Configuration(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>("PersonaGym:Endpoints:AllowAny", "true")])
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    public static ModelClientFactory Clients(IConfiguration configuration, Func<string, IChatClient>? offline = null) =>
        new(configuration, offline ?? (name => throw new InvalidOperationException($"No offline client expected ({name}).")), environment: _ => null);

    public static IDistributedCache MemoryCache() => new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));

    public static ModelPipelineOptions FastOptions(int maxAttempts = 3) => new()
    {
        MaxAttempts = maxAttempts,
        BaseDelay = TimeSpan.FromMilliseconds(100),
        MaxDelay = TimeSpan.FromSeconds(2),
        MaxConcurrency = 8,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"Gave up waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }
}
