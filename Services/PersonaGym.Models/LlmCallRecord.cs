namespace PersonaGym.Models;

/// <summary>
/// One call to a model as seen by its caller: which model, for which stage, what it cost in tokens, how long it took,
/// whether the response cache answered it, and how it ended. Cache hits cost nothing but are still recorded, so a
/// resumed run's report shows what it reused.
/// </summary>
public sealed record LlmCallRecord(
    string Model,
    string? Stage,
    long? InputTokens,
    long? OutputTokens,
    TimeSpan Latency,
    bool CacheHit,
    bool Succeeded,
    string? Error,
    DateTimeOffset At);

/// <summary>Receives one <see cref="LlmCallRecord"/> per call (the host decides where they go: database, metrics, console).</summary>
public interface ILlmCallRecorder
{
    ValueTask RecordAsync(LlmCallRecord record, CancellationToken cancellationToken);
}

/// <summary>Keys of <see cref="Microsoft.Extensions.AI.ChatOptions.AdditionalProperties"/> and response properties that the pipeline reads or sets.</summary>
public static class PersonaGymChatProperties
{
    /// <summary>Prefix of call metadata: these properties are accounting tags, never part of the response cache key.</summary>
    public const string Prefix = "personagym.";

    /// <summary>The method stage a call belongs to (a string, e.g. "question-generation", "judge").</summary>
    public const string Stage = "personagym.stage";

    /// <summary>Set to <c>true</c> on responses (and streaming updates) served from the response cache.</summary>
    public const string CacheHit = "personagym.cache_hit";
}

/// <summary>Tags a call with its stage for usage accounting.</summary>
public static class ChatOptionsStageExtensions
{
    /// <summary>Sets <see cref="PersonaGymChatProperties.Stage"/> on <paramref name="options"/> and returns it.</summary>
    public static Microsoft.Extensions.AI.ChatOptions WithStage(this Microsoft.Extensions.AI.ChatOptions options, string stage)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AdditionalProperties ??= [];
        options.AdditionalProperties[PersonaGymChatProperties.Stage] = stage;
        return options;
    }

    /// <summary>The stage tag of a call, if any.</summary>
    public static string? GetStage(this Microsoft.Extensions.AI.ChatOptions? options) =>
        options?.AdditionalProperties is { } properties && properties.TryGetValue(PersonaGymChatProperties.Stage, out var value)
            ? value?.ToString()
            : null;
}
