using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Mvc;
using PersonaGym.Pipeline;
using PersonaGym.Web.Api;

namespace PersonaGym.Web.Account;

/// <summary>Signing in and out: the cookie is written and cleared here and in the sign-in page, nowhere else.</summary>
public static class AccountEndpoints
{
    public const string SignInPath = "signin";
    public const string SessionEndedPath = "account/session-ended";

    /// <summary>The sign-in page's note for <c>?ended=key</c>.</summary>
    public const string KeyNoLongerValid = "Signed out: your key is no longer valid. Sign in with a valid key.";

    /// <summary>The sign-in page's note for <c>?ended=token</c> (Entra ID).</summary>
    public const string SignInNoLongerValid = "Signed out: your sign-in is no longer valid. Sign in again.";

    /// <summary>The sign-in page's note for <c>?ended=idle</c>: an open page went the idle timeout without use.</summary>
    public static string IdleNote(TimeSpan timeout) =>
        $"Signed out after {Show(timeout)} without use. Sign in again to continue.";

    private static string Show(TimeSpan span) =>
        span.TotalHours >= 1 && span.Minutes == 0 && span.Seconds == 0 ? $"{(int)span.TotalHours} h"
        : span.TotalMinutes >= 1 && span.Seconds == 0 ? $"{(int)span.TotalMinutes} min"
        : $"{(int)span.TotalSeconds} s";

    /// <summary>The principal of a person signed in with an Api key: the key's name and roles as the Api reported them, and the key itself.</summary>
    public static ClaimsPrincipal PrincipalOf(Caller caller, string key)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, caller.Name), new(WebClaims.ApiKey, key) };
        if (caller.KeyId is { } id) claims.Add(new Claim(WebClaims.KeyId, id.ToString()));
        claims.AddRange(caller.Roles.Select(role => new Claim(ClaimTypes.Role, role.ToLowerInvariant())));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/account");

        // A form post with the antiforgery token (minimal APIs validate it for form-bound parameters).
        account.MapPost("/signout", async (HttpContext context, SignInModeSetting mode, [FromForm] string? returnUrl) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            if (mode.Mode == SignInMode.Entra)
                return Results.SignOut(new AuthenticationProperties { RedirectUri = "/" + SignInPath + "?signedOut=1" }, [OpenIdConnectDefaults.AuthenticationScheme]);
            return Results.LocalRedirect("~/" + SignInPath + "?signedOut=1");
        });

        // Entra ID: the sign-in page's button starts the OpenID Connect round trip.
        account.MapGet("/entra", (string? returnUrl) => Results.Challenge(
            new AuthenticationProperties { RedirectUri = LocalOrRoot(returnUrl) }, [OpenIdConnectDefaults.AuthenticationScheme]));

        // Where a page sends the browser when the Api refused the person's credential. The key is asked about again,
        // so a link to here cannot sign anyone out whose key still works.
        account.MapGet("/session-ended", async (HttpContext context, PersonaGymApiClient api, SignInModeSetting mode, CancellationToken ct) =>
        {
            var user = context.User;
            if (user.Identity?.IsAuthenticated == true)
            {
                if (mode.Mode == SignInMode.ApiKey && user.FindFirstValue(WebClaims.ApiKey) is { Length: > 0 } key)
                {
                    var check = await api.CheckKeyAsync(key, ct);
                    if (check.Caller is not null || !check.Refused) return Results.LocalRedirect("~/");
                }

                await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            }

            return Results.LocalRedirect("~/" + SignInPath + (mode.Mode == SignInMode.Entra ? "?ended=token" : "?ended=key"));
        });
        return app;
    }

    /// <summary>Only this site's own paths: a return address from a query string never leads elsewhere.</summary>
    public static string LocalOrRoot(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl
            : "/";
}
