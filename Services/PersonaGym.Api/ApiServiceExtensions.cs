using System.Text.Json.Serialization;
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
            if (context.Exception is BadHttpRequestException bad) context.ProblemDetails.Detail = bad.Message;
        });
        builder.Services.AddOpenApi();
        builder.AddRequestBodyLimit();
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            // Must match PersonaGymJson.Options: enums by name, NaN and infinities allowed rather than failing a response.
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            options.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
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
        });
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>
    /// While the coordinating stall detector finds the database unreachable, every request but the probes and the
    /// OpenAPI document is answered at once with a 503 problem saying so (and Retry-After), before authentication
    /// (which reads keys from the database): a client learns why instead of waiting out connection retries.
    /// </summary>
    public static WebApplication UseDatabaseOutageAnswer(this WebApplication app)
    {
        var conditions = app.Services.GetRequiredService<PipelineConditions>();
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (conditions.Database is not { } outage || path.StartsWithSegments("/health") || path.StartsWithSegments("/alive")
                || path.StartsWithSegments("/openapi"))
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "15";
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
