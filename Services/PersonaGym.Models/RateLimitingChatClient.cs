using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace PersonaGym.Models;

/// <summary>Runs each attempt inside the model's <see cref="ModelRateLimiter"/> and charges the tokens it used.</summary>
internal sealed class RateLimitingChatClient(IChatClient inner, ModelRateLimiter limiter) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var slot = await limiter.EnterAsync(cancellationToken).ConfigureAwait(false);
        var response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        limiter.ChargeTokens(TokensOf(response.Usage));
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var slot = await limiter.EnterAsync(cancellationToken).ConfigureAwait(false);
        long tokens = 0;
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            foreach (var usage in update.Contents.OfType<UsageContent>())
            {
                tokens += TokensOf(usage.Details);
            }

            yield return update;
        }

        limiter.ChargeTokens(tokens);
    }

    internal static long TokensOf(UsageDetails? usage) =>
        usage is null ? 0 : usage.TotalTokenCount ?? (usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0);
}
