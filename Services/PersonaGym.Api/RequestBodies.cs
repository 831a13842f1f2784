using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Api;

/// <summary>
/// What every request body is held to, whichever endpoint reads it: at most <c>PersonaGym:Limits:MaxRequestBodyBytes</c>
/// (Kestrel's limit while reading, and a 413 problem before reading when the declared length is larger), and JSON only
/// as UTF-8 (a 415 problem for another charset, which the JSON reader would otherwise fail on with a 500).
/// </summary>
public static class RequestBodies
{
    public static TBuilder AddRequestBodyLimit<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<RunLimits>>((kestrel, limits) =>
            kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);
        return builder;
    }

    /// <summary>After authentication, so a caller without credentials learns that first.</summary>
    public static WebApplication UseRequestBodyRules(this WebApplication app)
    {
        var max = app.Services.GetRequiredService<IOptions<RunLimits>>().Value.MaxRequestBodyBytes;
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (request.ContentLength > max)
            {
                await ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "The request body is too large", TooLarge(max));
                return;
            }

            // Only a request that can carry a body (a GET's Content-Type alone refuses nothing).
            if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: false } && request.HasJsonContentType() && request.GetTypedHeaders().ContentType?.Charset.Value is { Length: > 0 } charset &&
                !charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            {
                await ProblemAsync(context, StatusCodes.Status415UnsupportedMediaType, "The body is UTF-8 JSON",
                    $"The charset '{charset}' is not accepted: send the body as UTF-8 (Content-Type: application/json).");
                return;
            }

            await next(context);
        });
        return app;
    }

    public static string TooLarge(long max) =>
        $"This server reads at most {max} bytes per request ({RunLimits.Section}:MaxRequestBodyBytes); split the personas into several runs.";

    private static async Task ProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
