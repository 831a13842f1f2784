using System.Diagnostics.CodeAnalysis;

namespace PersonaGym.Models;

/// <summary>
/// A model named by a spec string: <c>provider:model</c>, optionally followed by <c>@endpoint</c>.
/// The spec text is the model's identity everywhere (cache keys, usage records, reports), so two specs
/// that differ only in endpoint are two different models.
/// </summary>
public sealed record ModelSpec(string Provider, string Model, Uri? Endpoint, string Text)
{
    /// <summary>The valid forms, quoted in every parse error so the user can fix the spec without reading docs.</summary>
    public const string ValidForms =
        "openai:<model> (e.g. openai:gpt-4o-mini), " +
        "openai:<model>@<base-url> for any OpenAI-compatible server (e.g. openai:llama3@http://localhost:8000/v1), " +
        "azure-openai:<deployment>@<endpoint> (e.g. azure-openai:gpt-4o@https://myres.openai.azure.com), " +
        "anthropic:<model>[@<base-url>] (e.g. anthropic:claude-3-5-sonnet-latest), " +
        "ollama:<model>[@<url>] (e.g. ollama:llama3.1, default http://localhost:11434), " +
        "offline:<name> (e.g. offline:persona-sim)";

    /// <summary>True for the deterministic offline provider, which needs no key, network or endpoint.</summary>
    public bool IsOffline => Provider == ModelProviders.Offline;

    public override string ToString() => Text;

    public static ModelSpec Parse(string text)
    {
        if (!TryParse(text, out var spec, out var error))
        {
            throw new FormatException(error);
        }

        return spec;
    }

    public static bool TryParse(string text, [NotNullWhen(true)] out ModelSpec? spec, [NotNullWhen(false)] out string? error)
    {
        spec = null;
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            error = $"A model spec is empty. Valid forms: {ValidForms}.";
            return false;
        }

        if (trimmed.Any(char.IsWhiteSpace))
        {
            error = $"Model spec '{trimmed}' contains whitespace. Valid forms: {ValidForms}.";
            return false;
        }

        var colon = trimmed.IndexOf(':');
        if (colon <= 0)
        {
            error = $"Model spec '{trimmed}' has no provider prefix. Valid forms: {ValidForms}.";
            return false;
        }

        var provider = trimmed[..colon].ToLowerInvariant();
        if (!ModelProviders.All.Contains(provider))
        {
            error = $"Model spec '{trimmed}' names unknown provider '{provider}' (known: {string.Join(", ", ModelProviders.All)}). Valid forms: {ValidForms}.";
            return false;
        }

        // The endpoint starts at the first '@' that is followed by a URL scheme, so model names that
        // themselves contain '@' or ':' (ollama tags such as llama3.1:8b) stay intact.
        var rest = trimmed[(colon + 1)..];
        var at = IndexOfEndpoint(rest);
        var model = at < 0 ? rest : rest[..at];
        var endpointText = at < 0 ? null : rest[(at + 1)..];

        if (model.Length == 0)
        {
            error = $"Model spec '{trimmed}' names no model after '{provider}:'. Valid forms: {ValidForms}.";
            return false;
        }

        if (at < 0 && rest.Contains('@'))
        {
            error = $"Model spec '{trimmed}' has an endpoint that is not an http(s) URL. Valid forms: {ValidForms}.";
            return false;
        }

        Uri? endpoint = null;
        if (endpointText is not null)
        {
            if (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Host.Length == 0)
            {
                error = $"Model spec '{trimmed}' has an endpoint '{endpointText}' that is not an absolute http(s) URL. Valid forms: {ValidForms}.";
                return false;
            }

            if (!string.IsNullOrEmpty(endpoint.UserInfo))
            {
                // Credentials belong in configuration, never in a spec that is logged and stored.
                error = $"Model spec '{provider}:{model}@…' carries credentials in its endpoint URL; put keys in configuration instead.";
                return false;
            }

            if (provider == ModelProviders.Offline)
            {
                error = $"Model spec '{trimmed}': the offline provider takes no endpoint. Valid forms: {ValidForms}.";
                return false;
            }
        }

        spec = new ModelSpec(provider, model, endpoint, endpointText is null ? $"{provider}:{model}" : $"{provider}:{model}@{endpointText}");
        error = null;
        return true;
    }

    private static int IndexOfEndpoint(string rest)
    {
        for (var i = rest.IndexOf('@'); i >= 0; i = rest.IndexOf('@', i + 1))
        {
            var tail = rest.AsSpan(i + 1);
            if (tail.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || tail.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }
}
