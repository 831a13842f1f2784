using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace PersonaGym.Models;

/// <summary>
/// Outermost layer: reports every call (tokens, latency, stage, cache hit, outcome) to the <see cref="ILlmCallRecorder"/>.
/// It sits outside the response cache so that calls answered from the cache are recorded too, marked as hits.
/// </summary>
internal sealed class UsageRecordingChatClient(IChatClient inner, ModelSpec spec, ILlmCallRecorder recorder, TimeProvider time)
    : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var at = time.GetUtcNow();
        var started = time.GetTimestamp();
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await RecordFailureAsync(options, at, started, ex).ConfigureAwait(false);
            throw;
        }

        await recorder.RecordAsync(
            new LlmCallRecord(spec.Text, options.GetStage(), response.Usage?.InputTokenCount, response.Usage?.OutputTokenCount,
                time.GetElapsedTime(started), IsCacheHit(response.AdditionalProperties), Succeeded: true, Error: null, at),
            cancellationToken).ConfigureAwait(false);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var at = time.GetUtcNow();
        var started = time.GetTimestamp();
        long? input = null, output = null;
        var cacheHit = false;
        var updates = StreamingFailures.Intercept(
            base.GetStreamingResponseAsync(messages, options, cancellationToken),
            async ex =>
            {
                await RecordFailureAsync(options, at, started, ex).ConfigureAwait(false);
                return null;
            },
            cancellationToken);
        await foreach (var update in updates.ConfigureAwait(false))
        {
            cacheHit |= IsCacheHit(update.AdditionalProperties);
            foreach (var usage in update.Contents.OfType<UsageContent>())
            {
                input = (input ?? 0) + (usage.Details.InputTokenCount ?? 0);
                output = (output ?? 0) + (usage.Details.OutputTokenCount ?? 0);
            }

            yield return update;
        }

        await recorder.RecordAsync(
            new LlmCallRecord(spec.Text, options.GetStage(), input, output, time.GetElapsedTime(started), cacheHit, Succeeded: true, Error: null, at),
            cancellationToken).ConfigureAwait(false);
    }

    private ValueTask RecordFailureAsync(ChatOptions? options, DateTimeOffset at, long started, Exception ex)
    {
        var error = ex is OperationCanceledException ? "cancelled" : ex.Message;
        // Recorded even when the caller cancelled: the failed or abandoned call still happened.
        return recorder.RecordAsync(
            new LlmCallRecord(spec.Text, options.GetStage(), null, null, time.GetElapsedTime(started), CacheHit: false, Succeeded: false, error, at),
            CancellationToken.None);
    }

    private static bool IsCacheHit(AdditionalPropertiesDictionary? properties) =>
        properties is not null && properties.TryGetValue(PersonaGymChatProperties.CacheHit, out var value) && value is true;
}
