using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace PersonaGym.Models;

/// <summary>
/// Runs each attempt inside the model's <see cref="ModelRateLimiter"/>, tells it how the attempt went (latency on
/// success, overloads on 429/503/timeouts) so its concurrency adapts, and charges the tokens it used.
/// </summary>
internal sealed class RateLimitingChatClient(IChatClient inner, ModelRateLimiter limiter) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var lease = await limiter.EnterAsync(cancellationToken).ConfigureAwait(false);
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelCallException failure)
        {
            lease.Failed(failure);
            throw;
        }

        lease.Succeeded();
        limiter.ChargeTokens(TokensOf(response.Usage));
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var lease = await limiter.EnterAsync(cancellationToken).ConfigureAwait(false);
        long tokens = 0;
        var updates = StreamingFailures.Replace<ChatResponseUpdate>(base.GetStreamingResponseAsync(messages, options, cancellationToken), ex =>
        {
            if (ex is ModelCallException failure)
            {
                lease.Failed(failure);
            }

            return null;
        }, cancellationToken);
        await foreach (var update in updates.ConfigureAwait(false))
        {
            foreach (var usage in update.Contents.OfType<UsageContent>())
            {
                tokens += TokensOf(usage.Details);
            }

            yield return update;
        }

        // The latency of a whole stream is the time to its last update.
        lease.Succeeded();
        limiter.ChargeTokens(tokens);
    }

    internal static long TokensOf(UsageDetails? usage) =>
        usage is null ? 0 : usage.TotalTokenCount ?? (usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0);
}
