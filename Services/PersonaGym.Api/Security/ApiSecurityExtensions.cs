using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Identity.Web;
using PersonaGym.Data;

namespace PersonaGym.Api.Security;

/// <summary>Settings of the Api's access control (<c>PersonaGym:Auth</c>).</summary>
public sealed class ApiSecurityOptions
{
    public const string Section = "PersonaGym:Auth";

    /// <summary>
    /// An operator key to make sure of at start (the AppHost passes its <c>api-key</c> parameter here), so a fresh system
    /// can be used at once. Revoking it with <c>personagym keys revoke bootstrap</c> sticks: it is not re-created.
    /// </summary>
    public string? BootstrapKey { get; set; }

    /// <summary>Run submissions and resumptions per key (or Entra ID user) per minute; 0 turns the limit off.</summary>
    public int SubmissionsPerMinute { get; set; } = 30;
}

/// <summary>
/// Who may call the Api: Api keys (the <c>X-Api-Key</c> header; stored hashed in the database) everywhere, and
/// Microsoft Entra ID bearer tokens (Microsoft.Identity.Web) when the <c>AzureAd</c> section names a client id.
/// Two roles: reader and operator (<see cref="PersonaGymRoles"/>). Every endpoint needs at least the reader role
/// unless it says otherwise (the fallback policy), so a new endpoint is never open by accident.
/// </summary>
public static class ApiSecurityExtensions
{
    /// <summary>The scheme that picks Api key or Entra ID by what the request carries.</summary>
    public const string SelectorScheme = "PersonaGym";

    /// <summary>The Microsoft.Identity.Web configuration section (its own convention).</summary>
    public const string EntraSection = "AzureAd";

    public static bool EntraConfigured(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[$"{EntraSection}:ClientId"]);

    public static TBuilder AddPersonaGymSecurity<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.AddOptions<ApiSecurityOptions>().BindConfiguration(ApiSecurityOptions.Section)
            .Validate(o => o.SubmissionsPerMinute >= 0, $"{ApiSecurityOptions.Section}:SubmissionsPerMinute cannot be negative")
            .Validate(o => string.IsNullOrEmpty(o.BootstrapKey) || o.BootstrapKey.Length >= ApiKeyStore.MinimumKeyLength,
                $"{ApiSecurityOptions.Section}:BootstrapKey needs at least {ApiKeyStore.MinimumKeyLength} characters")
            .ValidateOnStart();

        var entra = EntraConfigured(builder.Configuration);
        var authentication = services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "Api key or Entra ID", options => options.ForwardDefaultSelector = context =>
                entra && ApiKeyAuthenticationHandler.KeyOf(context.Request) is null &&
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        if (entra)
        {
            // App roles arrive in the token's "roles" claim; Microsoft.Identity.Web maps them to role claims.
            authentication.AddMicrosoftIdentityWebApi(builder.Configuration.GetSection(EntraSection), JwtBearerDefaults.AuthenticationScheme);
            services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, AccessProblems.AnswerEntraRefusals);
        }

        services.AddAuthorizationBuilder()
            .AddPolicy(PersonaGymPolicies.Read, policy => policy.RequireAuthenticatedUser()
                .RequireAssertion(c => PersonaGymRoles.Holds(c.User, PersonaGymRoles.Reader) || PersonaGymRoles.Holds(c.User, PersonaGymRoles.Operator)))
            .AddPolicy(PersonaGymPolicies.Operate, policy => policy.RequireAuthenticatedUser()
                .RequireAssertion(c => PersonaGymRoles.Holds(c.User, PersonaGymRoles.Operator)))
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser()
                .RequireAssertion(c => PersonaGymRoles.Holds(c.User, PersonaGymRoles.Reader) || PersonaGymRoles.Holds(c.User, PersonaGymRoles.Operator))
                .Build());

        var submissionsPerMinute = builder.Configuration.GetValue($"{ApiSecurityOptions.Section}:SubmissionsPerMinute", new ApiSecurityOptions().SubmissionsPerMinute);
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(PersonaGymPolicies.Submissions, context => submissionsPerMinute <= 0
                ? RateLimitPartition.GetNoLimiter("unlimited")
                : RateLimitPartition.GetFixedWindowLimiter(CallerOf(context), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = submissionsPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                }));
            options.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
                context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many submissions",
                        Detail = $"At most {submissionsPerMinute} submissions or resumptions per minute per key; try again in {(int)Math.Ceiling(retryAfter.TotalSeconds)} s.",
                    },
                });
            };
        });

        services.Configure<OpenApiOptions>("v1", options => options.AddDocumentTransformer(new SecuritySchemesTransformer(entra)));
        return builder;
    }

    /// <summary>Authentication, authorization and the submission rate limit, after the problem-details middleware so their refusals are problem details too.</summary>
    public static WebApplication UsePersonaGymSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>Adds the configured bootstrap operator key, if any and not yet stored. Runs after migrations.</summary>
    public static async Task EnsureBootstrapKeyAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var secret = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiSecurityOptions>>().Value.BootstrapKey;
        if (string.IsNullOrWhiteSpace(secret)) return;
        var contexts = services.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var added = await ApiKeyStore.EnsureAsync(db, "bootstrap", ApiKeyRole.Operator, secret.Trim(), services.GetService<TimeProvider>(), cancellationToken);
        services.GetRequiredService<ILoggerFactory>().CreateLogger("PersonaGym.Api.Security")
            .LogInformation(added ? "Added the configured bootstrap operator key." : "The configured bootstrap key is already stored (active or revoked).");
    }

    /// <summary>The key's id, the Entra user's object id, or (unauthenticated) the client address.</summary>
    private static string CallerOf(HttpContext context) =>
        context.User.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim)
        ?? context.User.FindFirstValue(Callers.ObjectIdClaim)
        ?? context.User.FindFirstValue(ClaimTypes.NameIdentifier)
        ?? context.Connection.RemoteIpAddress?.ToString()
        ?? "unknown";
}
