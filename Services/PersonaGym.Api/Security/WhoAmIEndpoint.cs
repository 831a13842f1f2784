using System.Security.Claims;
using PersonaGym.Pipeline;

namespace PersonaGym.Api.Security;

public static class WhoAmIEndpoint
{
    /// <summary>
    /// <c>GET /api/me</c>: lets a client (the web app signing a user in with their key, or a script) check a credential
    /// and learn its roles without touching any run.
    /// </summary>
    public static IEndpointRouteBuilder MapPersonaGymCaller(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/me", (ClaimsPrincipal user) => TypedResults.Ok(new Caller(
                user.Identity?.Name ?? user.FindFirstValue("preferred_username") ?? "(unnamed)",
                new[] { PersonaGymRoles.Reader, PersonaGymRoles.Operator }.Where(role => PersonaGymRoles.Holds(user, role)).ToList(),
                user.Identity?.AuthenticationType ?? "",
                Guid.TryParse(user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim), out var keyId) ? keyId : null)))
            .WithTags("Access").WithName("GetCaller")
            .WithSummary("The caller's name, key id and roles (reader, operator): checks a key or token.")
            .RequireAuthorization(PersonaGymPolicies.Read);
        return app;
    }
}
