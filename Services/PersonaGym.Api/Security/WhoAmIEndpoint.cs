using System.Security.Claims;

namespace PersonaGym.Api.Security;

/// <summary>Who the caller is to the Api: a key's name or an Entra ID user, and the roles it holds.</summary>
public sealed record Caller(string Name, IReadOnlyList<string> Roles, string Scheme);

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
                user.Identity?.AuthenticationType ?? "")))
            .WithTags("Access").WithName("GetCaller")
            .WithSummary("The caller's name and roles (reader, operator): checks a key or token.")
            .RequireAuthorization(PersonaGymPolicies.Read);
        return app;
    }
}
