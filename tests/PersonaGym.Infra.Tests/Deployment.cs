using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PersonaGym.Infra.Tests;

/// <summary>
/// The two-step deployment as azd runs it, evaluated offline: main.bicep with the given parameters, then a service's
/// infra/&lt;service&gt;.bicep with its parameters file filled from main's outputs (as azd fills it from its environment).
/// </summary>
internal static partial class Deployment
{
    public const string EnvironmentName = "pgym";
    public const string PostgresPassword = "Pg-Secret-Value-4711";
    public const string RabbitMqPassword = "RabbitSecretValue4711";
    public const string OpenAiKey = "sk-openai-secret-value-4711";

    public static readonly string[] Services = ["api", "question-generator", "agent-runner", "judge", "web"];

    /// <summary>The parameters every main deployment needs, as Bicep literals, plus any overrides.</summary>
    public static Dictionary<string, string> MainParameters(params (string Name, string Literal)[] overrides)
    {
        var parameters = new Dictionary<string, string>
        {
            ["environmentName"] = $"'{EnvironmentName}'",
            ["postgresAdminPassword"] = $"'{PostgresPassword}'",
            ["rabbitmqPassword"] = $"'{RabbitMqPassword}'",
            ["openAiApiKey"] = $"'{OpenAiKey}'",
        };
        foreach (var (name, literal) in overrides)
        {
            parameters[name] = literal;
        }
        return parameters;
    }

    public static async Task<JsonObject> MainAsync(Bicep bicep, params (string Name, string Literal)[] overrides)
    {
        var (snapshot, output) = await bicep.SnapshotAsync("main", MainParameters(overrides));
        Assert.True(snapshot is not null, $"main.bicep was refused:\n{output}");
        return snapshot!;
    }

    /// <summary>
    /// What azd's environment holds after main: its outputs, azd's own variables, and stand-ins for the outputs that
    /// only exist once Azure has created the resources (an evaluation before deployment leaves them as expressions).
    /// </summary>
    public static Dictionary<string, string> Variables(JsonObject main)
    {
        var variables = new Dictionary<string, string>
        {
            ["AZURE_ENV_NAME"] = EnvironmentName,
        };
        var standIns = new Dictionary<string, string>
        {
            ["AZURE_CONTAINER_REGISTRY_ENDPOINT"] = "crpgym.azurecr.io",
            ["PERSONAGYM_KEY_VAULT_URI"] = "https://kv-pgym.vault.azure.net/",
            ["PERSONAGYM_OPTIONAL_VAULT_ENTRIES"] = "openai-api-key",
            ["PERSONAGYM_ENTRA_INSTANCE"] = "https://login.microsoftonline.com/",
            ["PERSONAGYM_API_URL"] = "https://api.pgym-env.eastus.azurecontainerapps.io",
        };
        foreach (var (name, value) in main["outputs"]!.AsObject())
        {
            var text = value!.ToString();
            variables[name] = text.StartsWith('[')
                ? standIns.TryGetValue(name, out var standIn) ? standIn : text
                : text;
        }
        foreach (var service in Services)
        {
            variables[$"SERVICE_{service.ToUpperInvariant().Replace('-', '_')}_IMAGE_NAME"] = $"{variables["AZURE_CONTAINER_REGISTRY_ENDPOINT"]}/personagym-{service}:azd-deploy-1";
        }
        return variables;
    }

    /// <summary>
    /// Deploys a service after main: its parameters file with every ${VARIABLE} filled from <see cref="Variables"/>,
    /// overridden by <paramref name="environment"/>.
    /// </summary>
    public static async Task<JsonObject> ServiceAsync(Bicep bicep, string service, JsonObject main, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (snapshot, output) = await TryServiceAsync(bicep, service, main, environment);
        Assert.True(snapshot is not null, $"{service}.bicep was refused:\n{output}");
        return snapshot!;
    }

    /// <summary>As <see cref="ServiceAsync"/>, for a deployment that may be refused: the snapshot (null if refused) and Bicep's output.</summary>
    public static async Task<(JsonObject? Snapshot, string Output)> TryServiceAsync(Bicep bicep, string service, JsonObject main, IReadOnlyDictionary<string, string>? environment = null)
    {
        var variables = Variables(main);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            variables[name] = value;
        }

        var file = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Repository.Infra, $"{service}.parameters.json")))!;
        var parameters = new Dictionary<string, string>();
        foreach (var (name, entry) in file["parameters"]!.AsObject())
        {
            var template = entry!["value"]!.GetValue<string>();
            var value = Variable().Replace(template, match => variables.TryGetValue(match.Groups[1].Value, out var v)
                ? v
                : throw new Xunit.Sdk.XunitException($"{service}.parameters.json names ${{{match.Groups[1].Value}}}, which neither main.bicep's outputs nor azd provide."));
            parameters[name] = int.TryParse(value, out _) ? value : $"'{value.Replace("'", "\\'")}'";
        }

        return await bicep.SnapshotAsync(service, parameters);
    }

    public static IEnumerable<JsonObject> Resources(JsonObject snapshot, string type) =>
        snapshot["predictedResources"]!.AsArray().Select(r => r!.AsObject()).Where(r => (string?)r["type"] == type);

    public static JsonObject Resource(JsonObject snapshot, string type, string name) =>
        Resources(snapshot, type).SingleOrDefault(r => (string?)r["name"] == name)
        ?? throw new Xunit.Sdk.XunitException($"No {type} named {name} in the snapshot.");

    public static JsonObject ContainerApp(JsonObject snapshot, string name) => Resource(snapshot, "Microsoft.App/containerApps", name);

    public static int Output(JsonObject snapshot, string name) => snapshot["outputs"]![name]!.GetValue<int>();

    [GeneratedRegex(@"\$\{([A-Z0-9_]+)\}")]
    private static partial Regex Variable();
}
