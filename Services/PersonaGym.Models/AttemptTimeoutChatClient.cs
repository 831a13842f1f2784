using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace PersonaGym.Models;

/// <summary>Bounds one attempt; an expired attempt becomes a transient <see cref="ModelCallException"/>, while the caller's own cancellation stays a cancellation.</summary>
internal sealed class AttemptTimeoutChatClient(IChatClient inner, ModelSpec spec, TimeSpan timeout) : DelegatingChatClient(inner)
{
    private bool Bounded => timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan;

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (!Bounded)
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }

        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        try
        {
            return await base.GetResponseAsync(messages, options, attempt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw TimedOut();
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (Bounded)
        {
            attempt.CancelAfter(timeout);
        }

        var updates = StreamingFailures.Replace(
            base.GetStreamingResponseAsync(messages, options, attempt.Token),
            ex => ex is OperationCanceledException && attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                ? TimedOut()
                : null,
            attempt.Token);
        await foreach (var update in updates.ConfigureAwait(false))
        {
            yield return update;
        }
    }

    private ModelCallException TimedOut() =>
        new(spec.Text, ModelFailureKind.Timeout, null, $"Model '{spec.Text}' did not answer within {timeout}.");
}
