using Microsoft.Extensions.AI;

namespace PersonaGym.Core.Tests.Fakes;

/// <summary>A chat client whose replies come from a callback; it records every call it receives.</summary>
public sealed class CallbackChatClient(Func<IReadOnlyList<ChatMessage>, ChatOptions?, string> reply) : IChatClient
{
    public List<(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)> Calls { get; } = [];

    /// <summary>The finish reason of the call with the given 0-based index (default: stop).</summary>
    public Func<int, ChatFinishReason> FinishReasonOf { get; set; } = _ => ChatFinishReason.Stop;

    /// <summary>Replies with the given texts in turn (the last one repeats).</summary>
    public static CallbackChatClient Sequence(params string[] replies)
    {
        var index = 0;
        return new CallbackChatClient((_, _) => replies[Math.Min(index++, replies.Length - 1)]);
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Calls.Add((list, options));
        var text = reply(list, options);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            FinishReason = FinishReasonOf(Calls.Count - 1),
            Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 },
        });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, response.Text);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
