using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PersonaGym.Data;

namespace PersonaGym.Api.Security;

/// <summary>
/// Authenticates a request by the Api key in its <c>X-Api-Key</c> header (or <c>Authorization: ApiKey …</c>), looked up
/// by its hash in the database on every request, so a revoked key stops working at once.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IDbContextFactory<PersonaGymDbContext> contexts)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string KeyIdClaim = "personagym:key_id";

    private static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The key a request carries, or null when it carries none.</summary>
    public static string? KeyOf(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var header) && header.Count > 0) return header.ToString().Trim();
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith(SchemeName + " ", StringComparison.OrdinalIgnoreCase) ? authorization[(SchemeName.Length + 1)..].Trim() : null;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var secret = KeyOf(Request);
        if (secret is null) return AuthenticateResult.NoResult();

        // A database that does not answer makes the request a 503 within seconds (TimeoutException), instead of one
        // that waits out every connection retry; once the stall detector has noticed, the Api answers 503 at once.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Context.RequestAborted);
        timeout.CancelAfter(LookupTimeout);
        ApiKeyInfo? key;
        try
        {
            await using var db = await contexts.CreateDbContextAsync(timeout.Token);
            key = await ApiKeyStore.FindActiveAsync(db, secret, timeout.Token);
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !Context.RequestAborted.IsCancellationRequested)
        {
            throw new TimeoutException($"The database did not answer the key lookup within {LookupTimeout.TotalSeconds:0} s.", e);
        }

        // Never log the key itself, not even a part of it that is not its public prefix.
        if (key is null) return AuthenticateResult.Fail("The Api key is unknown or revoked.");

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, key.Id.ToString()),
            new(ClaimTypes.Name, key.Name),
            new(KeyIdClaim, key.Id.ToString()),
            new(ClaimTypes.Role, PersonaGymRoles.Reader),
        };
        if (key.Role == ApiKeyRole.Operator) claims.Add(new Claim(ClaimTypes.Role, PersonaGymRoles.Operator));
        var identity = new ClaimsIdentity(claims, SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{HeaderName}\"";
        return KeyOf(Request) is not null
            ? AccessProblems.UnauthorizedAsync(Context, "The Api key is not valid", "The key sent is unknown or was revoked. Create one with `personagym keys create`.")
            : AccessProblems.UnauthorizedAsync(Context, "Authentication is required", AccessProblems.SendCredentials);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => AccessProblems.ForbiddenAsync(Context);
}
