using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Api;

public static class ApiServiceExtensions
{
    /// <summary>
    /// The Api's web conventions: RFC 7807 problem details for every error, the OpenAPI document
    /// (<c>/openapi/v1.json</c>) and the JSON conventions the CLI reads with (<c>PersonaGymJson.Options</c>).
    /// </summary>
    public static TBuilder AddPersonaGymApi<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            // A body that cannot be read is the client's mistake: say what was wrong with it.
            if (context.Exception is BadHttpRequestException bad)
            {
                // The JSON reader's own words name the place ("Path: $.score | LineNumber: 0 | BytePositionInLine: 12").
                context.ProblemDetails.Detail = bad.InnerException is System.Text.Json.JsonException json ? $"{bad.Message} {json.Message}" : bad.Message;
            }

            context.ProblemDetails.Detail ??= StatusDetail(context.HttpContext, context.ProblemDetails.Status);
        });
        // An endpoint's unreadable parameter (malformed JSON, a missing body, a wrong content type) is a
        // BadHttpRequestException saying which, in every environment, not a bare 400 outside Development.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi();
        builder.AddRequestBodyLimit();
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            // The conventions the CLI and the web app read with, from their one definition.
            PersonaGymJson.Configure(options.SerializerOptions);
            // The Api's bodies from generated metadata; the reflection resolver already in the chain stays last, for
            // the framework's own types and anything the context does not list.
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        return builder;
    }

    /// <summary>
    /// Every error answer is problem details: unhandled exceptions (500, no internals), unreadable request bodies
    /// (their own 4xx instead of a 500) and bare status codes such as an unmatched route's 404.
    /// </summary>
    public static WebApplication UsePersonaGymProblemDetails(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                // The database is unreachable: a temporary condition of the server, not a fault of the request.
                _ when PersonaGym.Data.DbExceptions.IsUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            },
            // A client's unreadable request is answered, not a server error to log as one.
            SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException,
        });
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>What a bare status code of the framework (no route, wrong method, unreadable body) means to a client.</summary>
    private static string? StatusDetail(HttpContext context, int? status) => status switch
    {
        StatusCodes.Status404NotFound when context.GetEndpoint() is null =>
            "No endpoint has this path (run, persona and answer ids are GUIDs); the Api's paths are in /openapi/v1.json.",
        StatusCodes.Status405MethodNotAllowed => context.Response.Headers.Allow is { Count: > 0 } allow
            ? $"This path does not take {context.Request.Method}; it takes {allow}."
            : $"This path does not take {context.Request.Method}; the Api's operations are in /openapi/v1.json.",
        StatusCodes.Status413PayloadTooLarge => RequestBodies.TooLarge(context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RunLimits>>().Value.MaxRequestBodyBytes),
        StatusCodes.Status415UnsupportedMediaType => "Send the body as UTF-8 JSON, with Content-Type: application/json.",
        _ => null,
    };

    /// <summary>
    /// While the coordinating stall detector finds the database unreachable, every request but the probes and the
    /// OpenAPI document is answered at once with a 503 problem saying so (and Retry-After), before authentication
    /// (which reads keys from the database): a client learns why instead of waiting out connection retries. Meanwhile
    /// the database itself is asked every couple of seconds (<see cref="DatabaseOutageProbe"/>), so requests are served
    /// again as soon as it is back, not only after the next stall check.
    /// </summary>
    public static WebApplication UseDatabaseOutageAnswer(this WebApplication app)
    {
        var probe = app.Services.GetRequiredService<DatabaseOutageProbe>();
        var retryAfter = ((int)DatabaseOutageProbe.Interval.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (path.StartsWithSegments("/health") || path.StartsWithSegments("/alive") || path.StartsWithSegments("/openapi")
                || await probe.CurrentOutageAsync(context.RequestAborted) is not { } outage)
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = retryAfter;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "The database is unreachable",
                    // The cause's own text (hosts, ports) stays in the server's log.
                    Detail = $"The database has been unreachable since {outage.Since:u}. Stored runs wait and continue when it is back; try again later.",
                },
            });
        });
        return app;
    }
}
