using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Identity.Web;

namespace PersonaGym.Web.Account;

/// <summary>How people sign in to the web app: with an Api key (checked by the Api), or with Microsoft Entra ID.</summary>
public enum SignInMode
{
    /// <summary>A person pastes an Api key; the Api's <c>GET /api/me</c> checks it and names its roles.</summary>
    ApiKey,

    /// <summary>OpenID Connect with Microsoft Entra ID (the <c>AzureAd</c> section); the Api is called with the user's token.</summary>
    Entra,
}

/// <summary>The sign-in settings (section <c>PersonaGym:Web</c>).</summary>
public sealed class WebSignInOptions
{
    public const string Section = "PersonaGym:Web";

    /// <summary>How long a session lasts without use; every request within it extends it (sliding expiry).</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(8);
}

public static class WebSignIn
{
    /// <summary>The section that turns Entra ID sign-in on when it names a client id (Microsoft.Identity.Web's convention).</summary>
    public const string EntraSection = "AzureAd";

    /// <summary>The delegated scopes for calling the Api with Entra ID, e.g. <c>api://personagym/access_as_user</c>.</summary>
    public const string ApiScopesSetting = "PersonaGym:Api:Scopes";

    public const string CookieName = ".PersonaGym.Web";

    public static SignInMode ModeOf(IConfiguration configuration) =>
        string.IsNullOrWhiteSpace(configuration[$"{EntraSection}:ClientId"]) ? SignInMode.ApiKey : SignInMode.Entra;

    /// <summary>
    /// Cookie authentication for every page, and the credential each person's Api calls carry: their own Api key (kept
    /// in the cookie's data-protected ticket, never shown to the browser's scripts) or, with Entra ID, their own token.
    /// The web app holds no key of its own.
    /// </summary>
    public static TBuilder AddPersonaGymSignIn<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.AddOptions<WebSignInOptions>().BindConfiguration(WebSignInOptions.Section)
            .Validate(o => o.SessionIdleTimeout > TimeSpan.Zero, $"{WebSignInOptions.Section}:SessionIdleTimeout must be positive")
            .ValidateOnStart();
        var mode = ModeOf(builder.Configuration);
        services.AddSingleton(new SignInModeSetting(mode));

        if (mode == SignInMode.Entra)
        {
            var scopes = builder.Configuration.GetSection(ApiScopesSetting).Get<string[]>()
                         ?? builder.Configuration[ApiScopesSetting]?.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                         ?? [];
            if (scopes.Length == 0)
                throw new InvalidOperationException($"Entra ID sign-in ({EntraSection}:ClientId) needs {ApiScopesSetting}: the Api's delegated scope, e.g. api://personagym/access_as_user.");
            services.AddAuthentication(OpenIdConnectDefaults.AuthenticationScheme)
                .AddMicrosoftIdentityWebApp(builder.Configuration.GetSection(EntraSection))
                .EnableTokenAcquisitionToCallDownstreamApi(scopes)
                .AddInMemoryTokenCaches();
            services.AddSingleton(new EntraApiScopes(scopes));
            services.AddScoped<IApiCredentials, EntraCredentials>();
        }
        else
        {
            services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
            services.AddSingleton<IApiCredentials, ApiKeyCredentials>();
        }

        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<Microsoft.Extensions.Options.IOptions<WebSignInOptions>>((cookie, settings) =>
            {
                cookie.Cookie.Name = CookieName;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                // Lax, not Strict: with Entra ID the browser comes back from the sign-in page through a cross-site redirect.
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.ExpireTimeSpan = settings.Value.SessionIdleTimeout;
                cookie.SlidingExpiration = true;
                cookie.LoginPath = "/signin";
                cookie.AccessDeniedPath = "/access-denied";
                cookie.ReturnUrlParameter = "returnUrl";
            });

        services.AddAuthorization();
        services.AddCascadingAuthenticationState();
        // An open page ends its sign-in after the same idle timeout as the cookie (IdleCircuits.cs).
        services.TryAddSingleton(TimeProvider.System);
        services.AddScoped<CircuitActivity>();
        services.AddScoped<CircuitHandler, CircuitActivityHandler>();
        services.AddScoped<AuthenticationStateProvider, IdleSessionAuthenticationStateProvider>();
        services.AddHttpContextAccessor();
        services.AddScoped<SignedInUser>();
        return builder;
    }
}

/// <summary>The sign-in mode the web app started with, for the pages.</summary>
public sealed record SignInModeSetting(SignInMode Mode);
