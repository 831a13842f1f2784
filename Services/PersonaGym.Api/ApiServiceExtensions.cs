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
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            // Must match PersonaGymJson.Options: enums by name, NaN and infinities allowed rather than failing a response.
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            options.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        return builder;
    }
}
