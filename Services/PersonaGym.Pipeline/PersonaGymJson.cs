using System.Text.Json;
using System.Text.Json.Serialization;

namespace PersonaGym.Pipeline;

/// <summary>The JSON conventions of the Api and of the CLI talking to it: web defaults (camelCase), enums by name.</summary>
public static class PersonaGymJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    public static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = false };
        Configure(options);
        return options;
    }

    /// <summary>
    /// Applies the conventions beyond the web defaults to options that start from them, such as the Api's HTTP JSON
    /// options, so the server and its clients share one definition: enums by name, and NaN and infinities allowed
    /// rather than failing an answer.
    /// </summary>
    public static void Configure(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        options.Converters.Add(new JsonStringEnumConverter());
    }
}
