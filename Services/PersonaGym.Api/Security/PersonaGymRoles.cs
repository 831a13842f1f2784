using System.Security.Claims;

namespace PersonaGym.Api.Security;

/// <summary>The two roles and the policies endpoint groups require (<c>.RequireAuthorization(PersonaGymPolicies.Read)</c>).</summary>
public static class PersonaGymRoles
{
    /// <summary>Reads runs, results, question sets, the leaderboard.</summary>
    public const string Reader = "reader";

    /// <summary>Spends money: submits, resumes, cancels, raises budgets. Every operator is also a reader.</summary>
    public const string Operator = "operator";

    /// <summary>
    /// True when the user holds <paramref name="role"/> in any of the role claim types in use (an Api key's role
    /// claims, Entra ID's <c>roles</c> app-role claim), compared without case, since Entra app role values are
    /// often written <c>Operator</c>.
    /// </summary>
    public static bool Holds(ClaimsPrincipal user, string role) =>
        user.Claims.Any(c => (c.Type == ClaimTypes.Role || c.Type == "roles" || c.Type == (c.Subject?.RoleClaimType ?? ClaimTypes.Role))
                             && c.Value.Equals(role, StringComparison.OrdinalIgnoreCase));
}

public static class PersonaGymPolicies
{
    /// <summary>Reader or operator.</summary>
    public const string Read = "personagym-read";

    /// <summary>Operator only.</summary>
    public const string Operate = "personagym-operate";

    /// <summary>The rate limiter policy on run submissions and resumptions, partitioned per key (or Entra user).</summary>
    public const string Submissions = "personagym-submissions";
}
