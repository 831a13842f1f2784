using System.Security.Claims;

namespace PersonaGym.Api.Security;

/// <summary>Who is calling, as a stable id: what rate limits are counted by and what a rater's name belongs to.</summary>
public static class Callers
{
    /// <summary>Entra ID's object id of a user or app (the <c>oid</c> claim, as the JWT handler maps it).</summary>
    public const string ObjectIdClaim = "http://schemas.microsoft.com/identity/claims/objectidentifier";

    /// <summary>
    /// <c>key:&lt;id&gt;</c> for an Api key, <c>entra:&lt;object id&gt;</c> for an Entra token, <c>user:&lt;id&gt;</c> for
    /// another identity with a name identifier; null for an anonymous caller. Stable across a renamed key or a changed
    /// display name.
    /// </summary>
    public static string? PrincipalOf(ClaimsPrincipal user)
    {
        if (user.Identity?.IsAuthenticated != true) return null;
        if (user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim) is { Length: > 0 } key) return $"key:{key}";
        if ((user.FindFirstValue(ObjectIdClaim) ?? user.FindFirstValue("oid")) is { Length: > 0 } oid) return $"entra:{oid}";
        return user.FindFirstValue(ClaimTypes.NameIdentifier) is { Length: > 0 } id ? $"user:{id}" : null;
    }
}
