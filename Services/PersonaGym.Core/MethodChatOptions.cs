using Microsoft.Extensions.AI;

namespace PersonaGym.Core;

/// <summary>
/// The chat options of every stage, in one place, as the reference code sends them (see docs/method.md in the
/// README's method section): environment selection, question generation and persona answers sample at temperature
/// 0.9 and top-p 0.9; exemplar writers and judges are deterministic at temperature 0 (the reference also sends top-p
/// 0, which some current providers refuse together with a temperature, so only the temperature is sent). Every call
/// carries an explicit output limit.
/// </summary>
public static class MethodChatOptions
{
    /// <summary>Sampling of environment selection, question generation and the persona agent (reference code).</summary>
    public const float SamplingTemperature = 0.9f;

    /// <summary>Top-p of the sampled stages (reference code).</summary>
    public const float SamplingTopP = 0.9f;

    /// <summary>Environment selection and question generation.</summary>
    public static ChatOptions ForGeneration(string stage, int maxOutputTokens) =>
        Tagged(new ChatOptions { Temperature = SamplingTemperature, TopP = SamplingTopP, MaxOutputTokens = maxOutputTokens }, stage);

    /// <summary>The persona agent: the sampling under test (reference code: temperature 0.9, top-p 0.9).</summary>
    public static ChatOptions ForAgent(float temperature, float? topP, int maxOutputTokens) =>
        Tagged(new ChatOptions { Temperature = temperature, TopP = topP, MaxOutputTokens = maxOutputTokens }, MethodStages.Answer);

    /// <summary>Exemplar writing and judging: temperature 0, no top-p.</summary>
    public static ChatOptions Deterministic(string stage, int maxOutputTokens) =>
        Tagged(new ChatOptions { Temperature = 0f, MaxOutputTokens = maxOutputTokens }, stage);

    /// <summary>The stage tag is for usage accounting only; no prompt or output depends on it.</summary>
    public static ChatOptions Tagged(ChatOptions options, string stage)
    {
        options.AdditionalProperties ??= [];
        options.AdditionalProperties[MethodStages.PropertyKey] = stage;
        return options;
    }

    /// <summary>The stage a call was tagged with, or null.</summary>
    public static string? StageOf(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(MethodStages.PropertyKey, out var value) == true ? value as string : null;
}
