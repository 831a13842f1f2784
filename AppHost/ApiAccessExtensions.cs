namespace PersonaGym.AppHost;

public static class ApiAccessExtensions
{
    /// <summary>The AppHost parameter holding the first operator key of the Api.</summary>
    public const string ApiKeyParameter = "api-key";

    /// <summary>
    /// Gives the Api a first operator key (<c>Parameters:api-key</c>; generated and kept in the AppHost's user secrets
    /// when not set, and shown, masked, in the dashboard), which the Api stores hashed at start. Every other key is
    /// made with <c>personagym keys create</c>; revoking this one (<c>keys revoke bootstrap</c>) sticks.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithBootstrapApiKey(this IResourceBuilder<ProjectResource> api)
    {
        var builder = api.ApplicationBuilder;
        var key = string.IsNullOrWhiteSpace(builder.Configuration[$"Parameters:{ApiKeyParameter}"])
            ? builder.AddParameter(ApiKeyParameter, new GenerateParameterDefault { MinLength = 40, Special = false }, secret: true, persist: true)
            : builder.AddParameter(ApiKeyParameter, secret: true);
        return api.WithEnvironment("PersonaGym__Auth__BootstrapKey", key);
    }
}
