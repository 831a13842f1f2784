using System.Security.Claims;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace PersonaGym.Web.Account;

/// <summary>The claims the web app puts in a person's sign-in cookie (its ticket is data-protected: encrypted and signed).</summary>
public static class WebClaims
{
    /// <summary>The Api key the person signed in with; only ever sent to the Api, on that person's calls.</summary>
    public const string ApiKey = "personagym:api_key";

    /// <summary>The Api's id of that key (from <c>GET /api/me</c>).</summary>
    public const string KeyId = "personagym:key_id";

    public const string Reader = "reader";
    public const string Operator = "operator";
}

/// <summary>
/// Who is signed in, in the scope at hand: a circuit (interactive pages), a prerendering request, or a plain request
/// (the export downloads). Inside a circuit the user is the circuit's <see cref="AuthenticationStateProvider"/>'s;
/// outside one it is the request's. The Api client is resolved from the same scope, so each person's calls carry their
/// own credential, never another's. ("ASP.NET Core server-side and Blazor Web App additional security scenarios":
/// circuit-scoped services see the circuit's user; <see cref="Microsoft.AspNetCore.Http.HttpContext"/> only inside a request.)
/// </summary>
public sealed class SignedInUser(AuthenticationStateProvider authentication, IHttpContextAccessor http, NavigationManager navigation)
{
    private static readonly ClaimsPrincipal Nobody = new(new ClaimsIdentity());

    public async Task<ClaimsPrincipal> GetAsync()
    {
        try
        {
            return (await authentication.GetAuthenticationStateAsync()).User;
        }
        catch (InvalidOperationException)
        {
            // Not a component's scope (a minimal-API request such as an export): the request knows its user.
            return http.HttpContext?.User ?? Nobody;
        }
    }

    /// <summary>
    /// The Api refused the person's credential (revoked or expired): end the session. Inside a circuit or while
    /// prerendering the browser is sent to the page that clears the cookie and says why; elsewhere the caller handles
    /// <see cref="Api.SessionEndedException"/>.
    /// </summary>
    public void EndSession()
    {
        try
        {
            navigation.NavigateTo(AccountEndpoints.SessionEndedPath, forceLoad: true);
        }
        catch (InvalidOperationException)
        {
            // No navigation in this scope (not a component's): the exception the Api client throws carries the news.
        }
    }
}
