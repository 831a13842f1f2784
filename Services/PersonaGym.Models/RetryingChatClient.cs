using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace PersonaGym.Models;

/// <summary>
/// Repeats a call that failed transiently (429, 5xx, 408, timeouts, connection failures) with exponential backoff
/// and jitter, waiting at least what the provider asked for in Retry-After. Requests the provider rejected
/// (400/401/403/404…) fail at once: repeating them only spends quota.
/// </summary>
/// <remarks>Sits outside the rate limiter, so a backing-off call holds no concurrency slot and each attempt is counted as a request.</remarks>
internal sealed partial class RetryingChatClient(IChatClient inner, ModelSpec spec, ModelPipelineSettings settings, TimeProvider time, ILogger logger)
    : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        // The messages may be a lazy sequence; every attempt must send the same conversation.
        var conversation = messages as IReadOnlyCollection<ChatMessage> ?? messages.ToList();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await base.GetResponseAsync(conversation, options, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelCallException failure) when (ShouldRetry(failure, attempt, cancellationToken))
            {
                await BackOffAsync(failure, attempt, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelCallException failure) when (attempt > 1)
            {
                throw failure.WithAttempts(attempt);
            }
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var conversation = messages as IReadOnlyCollection<ChatMessage> ?? messages.ToList();
        for (var attempt = 1; ; attempt++)
        {
            var updates = base.GetStreamingResponseAsync(conversation, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            var yielded = false;
            try
            {
                while (true)
                {
                    ChatResponseUpdate update;
                    try
                    {
                        if (!await updates.MoveNextAsync().ConfigureAwait(false))
                        {
                            yield break;
                        }

                        update = updates.Current;
                    }
                    catch (ModelCallException failure) when (!yielded && ShouldRetry(failure, attempt, cancellationToken))
                    {
                        // Only a stream that produced nothing can be repeated without the caller seeing text twice.
                        await BackOffAsync(failure, attempt, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    catch (ModelCallException failure) when (attempt > 1)
                    {
                        throw failure.WithAttempts(attempt);
                    }

                    yielded = true;
                    yield return update;
                }
            }
            finally
            {
                await updates.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private bool ShouldRetry(ModelCallException failure, int attempt, CancellationToken cancellationToken) =>
        failure.IsTransient && attempt < settings.MaxAttempts && !cancellationToken.IsCancellationRequested;

    private async Task BackOffAsync(ModelCallException failure, int attempt, CancellationToken cancellationToken)
    {
        var delay = DelayBefore(attempt + 1, failure.RetryAfter);
        LogRetry(logger, spec.Text, failure.Kind, failure.StatusCode, attempt + 1, settings.MaxAttempts, delay);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Exponential backoff with "equal jitter" (half fixed, half random) so that many workers hitting the same
    /// limit do not retry in lockstep; a provider's Retry-After is a floor, since retrying earlier only earns another 429.
    /// </summary>
    internal TimeSpan DelayBefore(int nextAttempt, TimeSpan? retryAfter)
    {
        var exponential = settings.BaseDelay.TotalMilliseconds * Math.Pow(2, nextAttempt - 2);
        var capped = Math.Min(exponential, settings.MaxDelay.TotalMilliseconds);
        var backoff = TimeSpan.FromMilliseconds(capped / 2 + Random.Shared.NextDouble() * capped / 2);
        return retryAfter is { } asked && asked > backoff ? asked : backoff;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} failed transiently ({Kind}, HTTP {Status}); attempt {Next} of {Max} in {Delay}.")]
    private static partial void LogRetry(ILogger logger, string model, ModelFailureKind kind, int? status, int next, int max, TimeSpan delay);
}
