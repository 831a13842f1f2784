using System.Text.Json;
using System.Text.Json.Serialization;

namespace PersonaGym.Pipeline;

/// <summary>The JSON conventions of the Api and of the CLI talking to it: web defaults (camelCase), enums by name.</summary>
public static class PersonaGymJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    public static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = false,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        return options;
    }
}
