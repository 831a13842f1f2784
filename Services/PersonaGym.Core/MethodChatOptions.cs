using Microsoft.Extensions.AI;

namespace PersonaGym.Core;

/// <summary>
/// The chat options of every stage, in one place. Exemplar writers and judges are deterministic
/// (temperature 0, as in the paper), so a cached or repeated grading gives the same verdict.
/// </summary>
public static class MethodChatOptions
{
    /// <summary>Environment selection and question generation: the model's default sampling.</summary>
    public static ChatOptions ForGeneration(string stage) => Tagged(new ChatOptions(), stage);

    /// <summary>The persona agent: the sampling temperature under test (reference code: 0.9).</summary>
    public static ChatOptions ForAgent(float temperature) =>
        Tagged(new ChatOptions { Temperature = temperature }, MethodStages.Answer);

    /// <summary>Exemplar writing and judging: temperature 0 and a fixed top-p.</summary>
    public static ChatOptions Deterministic(string stage) =>
        Tagged(new ChatOptions { Temperature = 0f, TopP = 1f }, stage);

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
