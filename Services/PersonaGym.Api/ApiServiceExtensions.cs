using System.Text.Json.Serialization;

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
                _ when IsDatabaseUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            },
        });
        app.UseStatusCodePages();
        return app;
    }

    private static bool IsDatabaseUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is Npgsql.NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException or TimeoutException) return true;
        }

        return false;
    }
}
