using Microsoft.AspNetCore.Authentication.JwtBearer;

namespace PersonaGym.Api.Security;

/// <summary>
/// The problem details of a refused request (docs/security.md: a 401 or 403 problem that says what to send), one text
/// for Api keys and Entra ID tokens alike.
/// </summary>
internal static class AccessProblems
{
    public const string SendCredentials =
        $"Send an Api key in the {ApiKeyAuthenticationHandler.HeaderName} header (the CLI sends $PERSONAGYM_API_KEY or --api-key), or a Microsoft Entra ID bearer token where the Api is configured for it.";

    public static Task UnauthorizedAsync(HttpContext context, string title, string detail) =>
        WriteAsync(context, StatusCodes.Status401Unauthorized, title, detail);

    public static Task ForbiddenAsync(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status403Forbidden, "The caller's role does not allow this",
            "Reading needs the reader or operator role; submitting, resuming, cancelling and raising budgets need the operator role.");

    /// <summary>
    /// Microsoft.Identity.Web's JWT handler refuses with a bare status and no body: the same problem details as for a
    /// key instead, keeping the handler's <c>WWW-Authenticate</c> challenge (RFC 6750).
    /// </summary>
    public static void AnswerEntraRefusals(JwtBearerOptions options)
    {
        var events = options.Events ??= new JwtBearerEvents();
        var challenge = events.OnChallenge;
        events.OnChallenge = async context =>
        {
            await challenge(context);
            if (context.Handled) return;
            context.HandleResponse();
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = string.IsNullOrEmpty(context.Error)
                ? options.Challenge
                : $"{options.Challenge} error=\"{context.Error}\"" + (string.IsNullOrEmpty(context.ErrorDescription) ? "" : $", error_description=\"{context.ErrorDescription}\"");
            await UnauthorizedAsync(context.HttpContext, "The bearer token is not valid",
                "The token is malformed, expired, not signed by the tenant, for another audience or issuer, or carries neither an app role nor a scope: " +
                "sign in again, or send an Api key in the " +
                $"{ApiKeyAuthenticationHandler.HeaderName} header.");
        };
        var forbidden = events.OnForbidden;
        events.OnForbidden = async context =>
        {
            await forbidden(context);
            // The handler has set 403; a token without a reader or operator app role gets here.
            if (!context.Response.HasStarted) await ForbiddenAsync(context.HttpContext);
        };
    }

    private static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
