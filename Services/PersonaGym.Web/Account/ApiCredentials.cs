using System.Security.Claims;
using Microsoft.Identity.Web;

namespace PersonaGym.Web.Account;

/// <summary>How one request to the Api carries the signed-in person's credential.</summary>
public interface IApiCredentials
{
    /// <summary>Puts <paramref name="user"/>'s credential on <paramref name="request"/>; false when the user has none.</summary>
    Task<bool> ApplyAsync(HttpRequestMessage request, ClaimsPrincipal user, CancellationToken cancellationToken);
}

/// <summary>The Api key a person signed in with, kept in their cookie's protected ticket, sent as <c>X-Api-Key</c>.</summary>
public sealed class ApiKeyCredentials : IApiCredentials
{
    public const string HeaderName = "X-Api-Key";

    public Task<bool> ApplyAsync(HttpRequestMessage request, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (user.FindFirstValue(WebClaims.ApiKey) is not { Length: > 0 } key) return Task.FromResult(false);
        request.Headers.Remove(HeaderName);
        request.Headers.Add(HeaderName, key);
        return Task.FromResult(true);
    }

    /// <summary>Puts a key that is being checked at sign-in on a request (not yet anyone's session).</summary>
    public static void Apply(HttpRequestMessage request, string key) => request.Headers.Add(HeaderName, key);
}

/// <summary>
/// Microsoft Entra ID: an access token for the Api, acquired for the signed-in user (Microsoft.Identity.Web's token
/// acquisition with the scopes of <c>PersonaGym:Api:Scopes</c>), sent as a bearer token. Not checked against Entra ID here.
/// </summary>
public sealed class EntraCredentials(ITokenAcquisition tokens, EntraApiScopes scopes) : IApiCredentials
{
    public async Task<bool> ApplyAsync(HttpRequestMessage request, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (user.Identity?.IsAuthenticated != true) return false;
        try
        {
            var token = await tokens.GetAccessTokenForUserAsync(scopes.Scopes, user: user);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return true;
        }
        catch (MicrosoftIdentityWebChallengeUserException)
        {
            // No token for this user in the cache (e.g. the web app restarted): they must sign in again.
            return false;
        }
    }
}

/// <summary>The delegated scopes the web app asks for to call the Api on a user's behalf (Entra ID only).</summary>
public sealed record EntraApiScopes(IReadOnlyList<string> Scopes);
