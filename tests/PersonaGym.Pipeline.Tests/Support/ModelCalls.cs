using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using PersonaGym.Core.Offline;

namespace PersonaGym.Pipeline.Tests.Support;

/// <summary>
/// The LLM boundary of the tests: every offline model the pipeline creates is wrapped in a counter, and a test may
/// put its own fake behind a model name (e.g. a judge that only ever writes prose). Counts are of calls that reached
/// the provider, i.e. cache misses.
/// </summary>
public sealed class ModelCalls
{
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<IChatClient>> _fakes = new(StringComparer.Ordinal);

    /// <summary>Serves <c>offline:<paramref name="name"/></c> with <paramref name="fake"/> instead of the offline model.</summary>
    public ModelCalls With(string name, Func<IChatClient> fake)
    {
        _fakes[name] = fake;
        return this;
    }

    public int Total => _calls.Values.Sum();

    public int To(string name) => _calls.GetValueOrDefault(name);

    internal IChatClient Create(string name) =>
        new CountingChatClient(_fakes.TryGetValue(name, out var fake) ? fake() : new OfflineChatClient(name), () => _calls.AddOrUpdate(name, 1, (_, n) => n + 1));

    private sealed class CountingChatClient(IChatClient inner, Action count) : DelegatingChatClient(inner)
    {
        public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            count();
            return base.GetResponseAsync(messages, options, cancellationToken);
        }

        public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            count();
            return base.GetStreamingResponseAsync(messages, options, cancellationToken);
        }
    }
}

/// <summary>A judge that never ends with a score sentence: every verdict it writes is a parse failure.</summary>
public sealed class ProseChatClient : IChatClient
{
    public const string Text = "These answers read warmly and stay close to the persona; I would not want to reduce them to a number.";

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, Text)) { Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 20 } });

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates()) yield return update;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>A model the provider refuses (HTTP 400): a non-transient failure that no retry can mend.</summary>
public sealed class RejectingChatClient(string spec) : IChatClient
{
    public const string Reason = "the model does not exist";

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new PersonaGym.Models.ModelCallException(spec, PersonaGym.Models.ModelFailureKind.Rejected, 400, Reason);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new PersonaGym.Models.ModelCallException(spec, PersonaGym.Models.ModelFailureKind.Rejected, 400, Reason);

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>The offline model <paramref name="name"/>, holding every call until <paramref name="released"/> completes.</summary>
public sealed class HeldChatClient(string name, Task released) : DelegatingChatClient(new OfflineChatClient(name))
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        await released.WaitAsync(cancellationToken);
        return await base.GetResponseAsync(messages, options, cancellationToken);
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await released.WaitAsync(cancellationToken);
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken)) yield return update;
    }
}
