using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;

namespace PersonaGym.Models;

/// <summary>
/// M.E.AI's distributed response cache, keyed so that it is safe to share one store between models and stages:
/// the model spec is part of every key (two models never share an entry, even when the request names no model),
/// and PersonaGym's call metadata (<c>personagym.*</c> properties such as the stage tag) is left out of the key,
/// because it describes the call for accounting and does not change what the model is asked.
/// Responses served from the store are marked with <see cref="PersonaGymChatProperties.CacheHit"/>; a blank reply is
/// never stored.
/// Identical requests made at the same time in one process share one call (the first's answer is not stored yet, so
/// the store alone would let both pay): the followers get the leader's response, marked as a cache hit.
/// </summary>
public sealed class ModelResponseCachingChatClient : DistributedCachingChatClient
{
    public ModelResponseCachingChatClient(IChatClient innerClient, IDistributedCache storage, ModelSpec spec)
        : base(innerClient, storage)
    {
        ArgumentNullException.ThrowIfNull(spec);
        CacheKeyAdditionalValues = ["personagym-model", spec.Text];
    }

    private readonly ConcurrentDictionary<string, Task<ChatResponse>> _inFlight = new(StringComparer.Ordinal);

    // The streaming flag M.E.AI's CachingChatClient adds to the key of a non-streaming call: the key computed here is the
    // one the base class would compute, so entries stored by earlier versions are still found.
    private static readonly object NotStreaming = false;

    /// <remarks>
    /// The cache key (the request serialized to JSON and hashed) is computed once per call and serves both the in-flight
    /// sharing and the store; letting <see cref="CachingChatClient"/> read and write the store would compute it again.
    /// </remarks>
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        if (!EnableCaching(list, options))
        {
            return await base.GetResponseAsync(list, options, cancellationToken).ConfigureAwait(false);
        }

        var key = GetCacheKey(list, options, NotStreaming);
        var leader = new TaskCompletionSource<ChatResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = _inFlight.GetOrAdd(key, leader.Task);
        if (inFlight != leader.Task)
        {
            try
            {
                var shared = await inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
                return new ChatResponse(shared.Messages)
                {
                    ResponseId = shared.ResponseId,
                    ModelId = shared.ModelId,
                    CreatedAt = shared.CreatedAt,
                    FinishReason = shared.FinishReason,
                    Usage = shared.Usage,
                    AdditionalProperties = new AdditionalPropertiesDictionary(shared.AdditionalProperties ?? [])
                    {
                        [PersonaGymChatProperties.CacheHit] = true,
                    },
                };
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // The leader's call failed; this caller makes its own attempt.
                return await ReadOrCallAsync(key, list, options, cancellationToken).ConfigureAwait(false);
            }
        }

        try
        {
            var response = await ReadOrCallAsync(key, list, options, cancellationToken).ConfigureAwait(false);
            leader.TrySetResult(response);
            return response;
        }
        catch (Exception ex)
        {
            leader.TrySetException(ex);
            _ = leader.Task.Exception; // observed: followers retry on their own
            throw;
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Task<ChatResponse>>(key, leader.Task));
        }
    }

    /// <summary>What <see cref="CachingChatClient"/> does for a non-streaming call, with the key already computed.</summary>
    private async Task<ChatResponse> ReadOrCallAsync(string key, IReadOnlyList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        if (await ReadCacheAsync(key, cancellationToken).ConfigureAwait(false) is { } cached)
        {
            return cached;
        }

        var response = await InnerClient.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        if (!IsBlank(response))
        {
            await WriteCacheAsync(key, response, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    /// <summary>
    /// A reply with nothing in it (no visible text, no other content) is not stored: it is no answer worth replaying,
    /// and a redelivery or a resumed run must ask the provider again, not meet the same glitch for the cache's lifetime.
    /// </summary>
    private static bool IsBlank(ChatResponse response) =>
        PersonaGym.Core.ReplyText.IsBlank(response.Text)
        && response.Messages.SelectMany(m => m.Contents).All(c => c is TextContent or UsageContent);

    protected override string GetCacheKey(IEnumerable<ChatMessage> messages, ChatOptions? options, params ReadOnlySpan<object?> additionalValues) =>
        base.GetCacheKey(messages, WithoutCallMetadata(options), additionalValues);

    protected override async Task<ChatResponse?> ReadCacheAsync(string key, CancellationToken cancellationToken)
    {
        var cached = await base.ReadCacheAsync(key, cancellationToken).ConfigureAwait(false);
        if (cached is not null)
        {
            (cached.AdditionalProperties ??= [])[PersonaGymChatProperties.CacheHit] = true;
        }

        return cached;
    }

    protected override async Task<IReadOnlyList<ChatResponseUpdate>?> ReadCacheStreamingAsync(string key, CancellationToken cancellationToken)
    {
        var cached = await base.ReadCacheStreamingAsync(key, cancellationToken).ConfigureAwait(false);
        foreach (var update in cached ?? [])
        {
            (update.AdditionalProperties ??= [])[PersonaGymChatProperties.CacheHit] = true;
        }

        return cached;
    }

    private static ChatOptions? WithoutCallMetadata(ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { Count: > 0 } properties
            || !properties.Keys.Any(k => k.StartsWith(PersonaGymChatProperties.Prefix, StringComparison.Ordinal)))
        {
            return options;
        }

        var keyed = options.Clone();
        var kept = new AdditionalPropertiesDictionary();
        foreach (var (name, value) in properties)
        {
            if (!name.StartsWith(PersonaGymChatProperties.Prefix, StringComparison.Ordinal))
            {
                kept[name] = value;
            }
        }

        keyed.AdditionalProperties = kept.Count > 0 ? kept : null;
        return keyed;
    }
}
