namespace PersonaGym.AppHost;

/// <summary>
/// The model spec for each LLM role and the provider keys, as AppHost parameters, so they can be
/// set per machine (<c>Parameters:question-writer-model</c>, user secrets, environment) and are
/// published as deployment inputs in the manifest.
/// </summary>
public sealed record ModelSettings(
    IResourceBuilder<ParameterResource> QuestionWriter,
    IResourceBuilder<ParameterResource> ExemplarWriter,
    IResourceBuilder<ParameterResource> Judges,
    IResourceBuilder<ParameterResource> Agents,
    IReadOnlyList<(string EnvironmentVariable, IResourceBuilder<ParameterResource> Key)> ProviderKeys);

public static class ModelSettingsExtensions
{
    /// <summary>Provider keys, by AppHost parameter name and the environment variable the SDKs read.</summary>
    private static readonly (string Parameter, string EnvironmentVariable)[] ProviderKeyParameters =
    [
        ("openai-api-key", "OPENAI_API_KEY"),
        ("anthropic-api-key", "ANTHROPIC_API_KEY"),
        ("azure-openai-api-key", "AZURE_OPENAI_API_KEY"),
    ];

    /// <summary>The keys of PersonaGym:Models that name a role's model: set from the model parameters, never passed through.</summary>
    private static readonly HashSet<string> RoleSpecKeys = new(
        ["PersonaGym:Models:QuestionWriter", "PersonaGym:Models:ExemplarWriter", "PersonaGym:Models:Judges", "PersonaGym:Models:Agents"],
        StringComparer.OrdinalIgnoreCase);

    public static ModelSettings AddModelSettings(this IDistributedApplicationBuilder builder)
    {
        // Defaults are the offline provider: the system runs end to end with no key and no network.
        var questionWriter = builder.AddModelSpecParameter("question-writer-model", "offline:question-writer");
        var exemplarWriter = builder.AddModelSpecParameter("exemplar-writer-model", "offline:exemplar-writer");
        var judges = builder.AddModelSpecParameter("judge-models", "offline:judge-a,offline:judge-b");
        var agents = builder.AddModelSpecParameter("agent-models", "offline:agent");

        // A secret parameter without a value stops start-up until someone types it in the dashboard,
        // which would block offline runs. So a key parameter exists only when it is configured.
        var keys = ProviderKeyParameters
            .Where(key => !string.IsNullOrWhiteSpace(builder.Configuration[$"Parameters:{key.Parameter}"]))
            .Select(key => (key.EnvironmentVariable, builder.AddParameter(key.Parameter, secret: true)))
            .ToList();

        return new ModelSettings(questionWriter, exemplarWriter, judges, agents, keys);
    }

    public static IResourceBuilder<ProjectResource> WithModelSettings(this IResourceBuilder<ProjectResource> service, ModelSettings models)
    {
        service
            .WithEnvironment("PersonaGym__Models__QuestionWriter", models.QuestionWriter)
            .WithEnvironment("PersonaGym__Models__ExemplarWriter", models.ExemplarWriter)
            .WithEnvironment("PersonaGym__Models__Judges", models.Judges)
            .WithEnvironment("PersonaGym__Models__Agents", models.Agents);

        foreach (var (environmentVariable, key) in models.ProviderKeys)
        {
            service.WithEnvironment(environmentVariable, key);
        }

        // The model endpoints runs may name (the operator's allow-list, PersonaGym:Endpoints), the same for every service,
        // so the Api refuses what the workers would refuse; and the LLM layer's limits (PersonaGym:Models: MaxConcurrency,
        // rate limits, retries, overrides), so `--PersonaGym:Models:MaxConcurrency=16` caps every replica. The role specs
        // in PersonaGym:Models come from the parameters above only. The price list (PersonaGym:Pricing) goes along too,
        // so every service prices usage alike.
        var configuration = service.ApplicationBuilder.Configuration;
        foreach (var (name, value) in configuration.GetSection("PersonaGym:Endpoints").AsEnumerable()
                     .Concat(configuration.GetSection("PersonaGym:Models").AsEnumerable())
                     .Concat(configuration.GetSection("PersonaGym:Pricing").AsEnumerable()))
        {
            if (value is not null && !RoleSpecKeys.Contains(name)) service.WithEnvironment(name.Replace(":", "__", StringComparison.Ordinal), value);
        }

        return service;
    }

    private static IResourceBuilder<ParameterResource> AddModelSpecParameter(
        this IDistributedApplicationBuilder builder, string name, string offlineDefault)
    {
        var configured = builder.Configuration[$"Parameters:{name}"];
        return builder.AddParameter(
            name,
            string.IsNullOrWhiteSpace(configured) ? offlineDefault : configured,
            publishValueAsDefault: true);
    }
}
