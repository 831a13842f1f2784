using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PersonaGym.Web.Account;

namespace PersonaGym.Web.Tests;

/// <summary>Which sign-in the web app's configuration selects (in process; the Entra ID round trip itself is not testable here).</summary>
public sealed class SignInModeTests
{
    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddPersonaGymSignIn();
        return builder.Build();
    }

    [Fact]
    public async Task Without_AzureAd_people_sign_in_with_an_Api_key_kept_in_an_HttpOnly_sliding_cookie()
    {
        await using var app = Build(new() { ["PersonaGym:Web:SessionIdleTimeout"] = "01:30:00" });

        var schemes = app.Services.GetRequiredService<IAuthenticationSchemeProvider>();
        Assert.Equal(CookieAuthenticationDefaults.AuthenticationScheme, (await schemes.GetDefaultChallengeSchemeAsync())!.Name);
        Assert.Null(await schemes.GetSchemeAsync(OpenIdConnectDefaults.AuthenticationScheme));
        Assert.Equal(SignInMode.ApiKey, app.Services.GetRequiredService<SignInModeSetting>().Mode);
        using var scope = app.Services.CreateScope();
        Assert.IsType<ApiKeyCredentials>(scope.ServiceProvider.GetRequiredService<IApiCredentials>());

        var cookie = app.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        Assert.True(cookie.Cookie.HttpOnly);
        Assert.Equal(SameSiteMode.Lax, cookie.Cookie.SameSite);
        Assert.Equal(CookieSecurePolicy.SameAsRequest, cookie.Cookie.SecurePolicy);
        Assert.True(cookie.SlidingExpiration);
        Assert.Equal(TimeSpan.FromMinutes(90), cookie.ExpireTimeSpan);
        Assert.Equal("/signin", cookie.LoginPath);
    }

    [Fact]
    public async Task With_an_AzureAd_client_id_people_sign_in_with_OpenID_Connect_and_the_Api_gets_their_token()
    {
        await using var app = Build(new()
        {
            ["AzureAd:Instance"] = "https://login.microsoftonline.com/",
            ["AzureAd:TenantId"] = "00000000-0000-0000-0000-000000000001",
            ["AzureAd:ClientId"] = "00000000-0000-0000-0000-000000000002",
            ["AzureAd:ClientSecret"] = "not-a-real-secret",
            ["PersonaGym:Api:Scopes"] = "api://personagym/access_as_user",
        });

        var schemes = app.Services.GetRequiredService<IAuthenticationSchemeProvider>();
        Assert.Equal(OpenIdConnectDefaults.AuthenticationScheme, (await schemes.GetDefaultChallengeSchemeAsync())!.Name);
        Assert.Equal(SignInMode.Entra, app.Services.GetRequiredService<SignInModeSetting>().Mode);
        Assert.Equal(["api://personagym/access_as_user"], app.Services.GetRequiredService<EntraApiScopes>().Scopes);
        using var scope = app.Services.CreateScope();
        Assert.IsType<EntraCredentials>(scope.ServiceProvider.GetRequiredService<IApiCredentials>());
    }

    [Fact]
    public void Entra_sign_in_without_the_Apis_scope_stops_at_start_and_names_the_setting()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => Build(new() { ["AzureAd:ClientId"] = "00000000-0000-0000-0000-000000000002" }));

        Assert.Contains("PersonaGym:Api:Scopes", failure.Message);
    }

    [Theory]
    [InlineData("/runs/1", "/runs/1")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("//evil.example/", "/")]
    [InlineData("/\\evil.example/", "/")]
    [InlineData(null, "/")]
    public void A_return_address_after_sign_in_stays_on_this_site(string? returnUrl, string expected) =>
        Assert.Equal(expected, AccountEndpoints.LocalOrRoot(returnUrl));
}
