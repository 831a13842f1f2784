namespace PersonaGym.Web.Api;

/// <summary>Puts the web app's Api key (<c>PersonaGym:Api:Key</c>) on every request to the Api, when one is configured.</summary>
public sealed class ApiKeyHandler(IConfiguration configuration) : DelegatingHandler
{
    public const string HeaderName = "X-Api-Key";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (configuration["PersonaGym:Api:Key"] is { Length: > 0 } key && !request.Headers.Contains(HeaderName))
            request.Headers.Add(HeaderName, key);
        return base.SendAsync(request, cancellationToken);
    }
}
