namespace PersonaGym.Models;

/// <summary>The providers a <see cref="ModelSpec"/> may name, and where each one's key is looked up.</summary>
public static class ModelProviders
{
    public const string OpenAI = "openai";
    public const string AzureOpenAI = "azure-openai";
    public const string Anthropic = "anthropic";
    public const string Ollama = "ollama";
    public const string Offline = "offline";

    public static IReadOnlyList<string> All { get; } = [OpenAI, AzureOpenAI, Anthropic, Ollama, Offline];

    /// <summary>Configuration section holding per-provider settings: <c>PersonaGym:Providers:{provider}:ApiKey</c> / <c>:Endpoint</c>.</summary>
    public const string ConfigurationSection = "PersonaGym:Providers";

    /// <summary>
    /// Pseudo-provider section for keys of OpenAI-compatible servers at a custom base URL. Kept apart from the
    /// <c>openai</c> key so a real OpenAI key is never sent to a third-party or local server by accident.
    /// </summary>
    public const string OpenAICompatibleSection = "openai-compatible";

    public const string OpenAIKeyVariable = "OPENAI_API_KEY";
    public const string OpenAICompatibleKeyVariable = "OPENAI_COMPATIBLE_API_KEY";
    public const string AzureOpenAIKeyVariable = "AZURE_OPENAI_API_KEY";
    public const string AzureOpenAIEndpointVariable = "AZURE_OPENAI_ENDPOINT";
    public const string AnthropicKeyVariable = "ANTHROPIC_API_KEY";
    public const string OllamaHostVariable = "OLLAMA_HOST";

    public static readonly Uri DefaultOllamaEndpoint = new("http://localhost:11434");
}
