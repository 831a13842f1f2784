using System.Text.Json.Nodes;
using PersonaGym.Contracts;

namespace PersonaGym.Infra.Tests;

/// <summary>
/// The container apps as Azure would create them: main.bicep evaluated with its defaults, then each service's
/// deployment with its parameters file filled from main's outputs (see <see cref="Deployment"/>).
/// </summary>
public sealed class ServiceAppTests : IClassFixture<ServiceAppTests.Deployed>
{
    public sealed class Deployed : IAsyncLifetime
    {
        public Bicep Bicep { get; } = new();
        public JsonObject Main { get; private set; } = null!;
        public Dictionary<string, JsonObject> Apps { get; } = [];

        public async Task InitializeAsync()
        {
            Main = await Deployment.MainAsync(Bicep);
            foreach (var service in Deployment.Services)
            {
                Apps[service] = Deployment.ContainerApp(await Deployment.ServiceAsync(Bicep, service, Main), service);
            }
        }

        public Task DisposeAsync()
        {
            Bicep.Dispose();
            return Task.CompletedTask;
        }
    }

    private readonly Deployed _deployed;

    public ServiceAppTests(Deployed deployed) => _deployed = deployed;

    public static TheoryData<string, string, string> Workers => new()
    {
        { "question-generator", Endpoints.QuestionGenerator, "QUESTION_GENERATOR" },
        { "agent-runner", Endpoints.AgentRunner, "AGENT_RUNNER" },
        { "judge", Endpoints.Judge, "JUDGE" },
    };

    [Theory]
    [MemberData(nameof(Workers))]
    public void Each_worker_scales_from_one_replica_on_the_length_of_its_own_queue(string service, string queue, string output)
    {
        var scale = _deployed.Apps[service]["properties"]!["template"]!["scale"]!;
        Assert.Equal(1, scale["minReplicas"]!.GetValue<int>());
        Assert.Equal(Deployment.Output(_deployed.Main, $"PERSONAGYM_{output}_MAX_REPLICAS"), scale["maxReplicas"]!.GetValue<int>());
        Assert.True(scale["maxReplicas"]!.GetValue<int>() > 1);

        var rule = Assert.Single(scale["rules"]!.AsArray())!;
        var custom = rule["custom"]!;
        Assert.Equal("rabbitmq", (string?)custom["type"]);
        Assert.Equal(queue, (string?)custom["metadata"]!["queueName"]);
        Assert.Equal("QueueLength", (string?)custom["metadata"]!["mode"]);
        Assert.Equal(Deployment.Output(_deployed.Main, $"PERSONAGYM_{output}_QUEUE_LENGTH").ToString(), (string?)custom["metadata"]!["value"]);

        // The scaler's broker address is a secret, read from Key Vault like every other.
        var auth = Assert.Single(custom["auth"]!.AsArray())!;
        Assert.Equal("host", (string?)auth["triggerParameter"]);
        var secret = Secret(service, (string)auth["secretRef"]!);
        Assert.Equal($"{KeyVaultUri}secrets/rabbitmq-scaler-host", (string?)secret["keyVaultUrl"]);
    }

    [Theory]
    [MemberData(nameof(Workers))]
    public void Workers_have_no_ingress(string service, string queue, string output)
    {
        _ = (queue, output);
        Assert.Null(_deployed.Apps[service]["properties"]!["configuration"]!["ingress"]);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("web")]
    public void The_api_and_the_web_app_are_reachable_from_outside_over_https_only_and_scale_on_http(string service)
    {
        var app = _deployed.Apps[service];
        var ingress = app["properties"]!["configuration"]!["ingress"]!;
        Assert.True(ingress["external"]!.GetValue<bool>());
        Assert.False(ingress["allowInsecure"]!.GetValue<bool>());
        Assert.Equal(8080, ingress["targetPort"]!.GetValue<int>());
        Assert.Empty(app["properties"]!["template"]!["scale"]!["rules"]!.AsArray());
    }

    [Fact]
    public void The_web_app_runs_one_sticky_replica_since_its_sign_in_key_ring_and_circuits_live_in_the_replica()
    {
        var app = _deployed.Apps["web"];
        Assert.Equal("sticky", (string?)app["properties"]!["configuration"]!["ingress"]!["stickySessions"]!["affinity"]);
        var scale = app["properties"]!["template"]!["scale"]!;
        Assert.Equal(1, scale["minReplicas"]!.GetValue<int>());
        Assert.Equal(1, scale["maxReplicas"]!.GetValue<int>());
        // The Api keeps no circuits: its requests go to any replica.
        Assert.Null(_deployed.Apps["api"]["properties"]!["configuration"]!["ingress"]!["stickySessions"]);
    }

    [Fact]
    public void The_web_app_gets_the_apis_address_and_nothing_of_the_pipeline()
    {
        var app = _deployed.Apps["web"];
        var environment = Environment("web");

        Assert.Equal(Deployment.Variables(_deployed.Main)["PERSONAGYM_API_URL"], (string?)environment["PersonaGym__ApiUrl"]["value"]);
        Assert.Equal("true", (string?)environment["ASPNETCORE_FORWARDEDHEADERS_ENABLED"]["value"]);
        Assert.Equal("8080", (string?)environment["ASPNETCORE_HTTP_PORTS"]["value"]);
        // No database, broker, model or provider key: the web app holds no credential of its own.
        Assert.DoesNotContain(environment.Keys, k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
                                                    || k.StartsWith("PersonaGym__Models__", StringComparison.Ordinal)
                                                    || k.StartsWith("PersonaGym__Database__", StringComparison.Ordinal)
                                                    || k.StartsWith("AzureAd__", StringComparison.Ordinal)
                                                    || k.EndsWith("_API_KEY", StringComparison.Ordinal));
        Assert.Empty(app["properties"]!["configuration"]!["secrets"]!.AsArray());
        Assert.Null(app["properties"]!["template"]!["initContainers"]);
    }

    [Fact]
    public void The_apis_address_the_web_app_is_given_is_the_apis_own_ingress_address()
    {
        // An external app's FQDN is <app name>.<environment's default domain>: main's output names the app "api",
        // the app api.bicep creates.
        var output = (string)_deployed.Main["outputs"]!["PERSONAGYM_API_URL"]!;
        Assert.Contains("'https://api.{0}'", output);
        Assert.Contains("defaultDomain", output);
        Assert.NotNull(_deployed.Apps["api"]);
    }

    [Fact]
    public async Task An_Entra_app_registration_for_the_web_app_becomes_its_AzureAd_settings_with_the_secret_from_the_vault()
    {
        var entra = new Dictionary<string, string>
        {
            ["PERSONAGYM_WEB_ENTRA_TENANT_ID"] = "11111111-1111-1111-1111-111111111111",
            ["PERSONAGYM_WEB_ENTRA_CLIENT_ID"] = "33333333-3333-3333-3333-333333333333",
            ["PERSONAGYM_WEB_API_SCOPES"] = "api://personagym/access_as_user",
            ["PERSONAGYM_OPTIONAL_VAULT_ENTRIES"] = "openai-api-key,web-entra-client-secret",
        };
        var app = Deployment.ContainerApp(await Deployment.ServiceAsync(_deployed.Bicep, "web", _deployed.Main, entra), "web");
        var environment = EnvironmentOf(app);

        Assert.Equal("https://login.microsoftonline.com/", (string?)environment["AzureAd__Instance"]["value"]);
        Assert.Equal("11111111-1111-1111-1111-111111111111", (string?)environment["AzureAd__TenantId"]["value"]);
        Assert.Equal("33333333-3333-3333-3333-333333333333", (string?)environment["AzureAd__ClientId"]["value"]);
        Assert.Equal("api://personagym/access_as_user", (string?)environment["PersonaGym__Api__Scopes"]["value"]);
        Assert.Equal("web-entra-client-secret", (string?)environment["AzureAd__ClientSecret"]["secretRef"]);
        var secret = Assert.Single(app["properties"]!["configuration"]!["secrets"]!.AsArray())!;
        Assert.Equal($"{KeyVaultUri}secrets/web-entra-client-secret", (string?)secret["keyVaultUrl"]);
        // Still no provider key although one is stored: the web app never calls a model.
        Assert.False(environment.ContainsKey("OPENAI_API_KEY"));
    }

    [Theory]
    [InlineData("", "web-entra-client-secret", "PERSONAGYM_WEB_API_SCOPES")]
    [InlineData("api://personagym/access_as_user", "openai-api-key", "webEntraClientSecret")]
    public async Task Entra_sign_in_for_the_web_app_without_its_scope_or_secret_is_refused_before_anything_is_deployed(string scopes, string stored, string named)
    {
        var entra = new Dictionary<string, string>
        {
            ["PERSONAGYM_WEB_ENTRA_CLIENT_ID"] = "33333333-3333-3333-3333-333333333333",
            ["PERSONAGYM_WEB_API_SCOPES"] = scopes,
            ["PERSONAGYM_OPTIONAL_VAULT_ENTRIES"] = stored,
        };
        var (snapshot, output) = await Deployment.TryServiceAsync(_deployed.Bicep, "web", _deployed.Main, entra);

        Assert.Null(snapshot);
        Assert.Contains(named, output);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("question-generator")]
    [InlineData("agent-runner")]
    [InlineData("judge")]
    [InlineData("web")]
    public void Every_service_is_probed_on_alive_and_health(string service)
    {
        var container = Assert.Single(_deployed.Apps[service]["properties"]!["template"]!["containers"]!.AsArray())!;
        var probes = container["probes"]!.AsArray().ToDictionary(p => (string)p!["type"]!, p => p!["httpGet"]!);
        Assert.Equal(["Liveness", "Readiness", "Startup"], probes.Keys.Order());
        Assert.Equal("/alive", (string?)probes["Startup"]["path"]);
        Assert.Equal("/alive", (string?)probes["Liveness"]["path"]);
        Assert.Equal("/health", (string?)probes["Readiness"]["path"]);
        Assert.All(probes.Values, p => Assert.Equal(8080, p["port"]!.GetValue<int>()));
    }

    [Theory]
    [InlineData("api")]
    [InlineData("question-generator")]
    [InlineData("agent-runner")]
    [InlineData("judge")]
    public void Connection_strings_and_keys_are_Key_Vault_references_read_with_the_user_assigned_identity(string service)
    {
        var app = _deployed.Apps[service];
        var identity = (string)_deployed.Main["outputs"]!["PERSONAGYM_IDENTITY_ID"]!;
        Assert.NotNull(app["identity"]!["userAssignedIdentities"]![identity]);

        var secrets = app["properties"]!["configuration"]!["secrets"]!.AsArray().Select(s => s!.AsObject()).ToList();
        Assert.All(secrets, s =>
        {
            Assert.Null(s["value"]);
            Assert.Equal($"{KeyVaultUri}secrets/{s["name"]}", (string?)s["keyVaultUrl"]);
            Assert.Equal(identity, (string?)s["identity"]);
        });

        var environment = Environment(service);
        Assert.Equal("personagym-connection-string", (string?)environment["ConnectionStrings__personagym"]["secretRef"]);
        Assert.Equal("rabbitmq-connection-string", (string?)environment["ConnectionStrings__rabbitmq"]["secretRef"]);
        Assert.Equal("openai-api-key", (string?)environment["OPENAI_API_KEY"]["secretRef"]);
        // A key that is not stored is not referenced: the revision would fail on a missing secret.
        Assert.False(environment.ContainsKey("ANTHROPIC_API_KEY"));
        Assert.All(environment.Values.Where(v => v["secretRef"] is not null),
            v => Assert.Contains(secrets, s => (string?)s["name"] == (string?)v["secretRef"]));

        // The image comes from the registry through the same identity: no registry password anywhere.
        var registry = Assert.Single(app["properties"]!["configuration"]!["registries"]!.AsArray())!;
        Assert.Equal(identity, (string?)registry["identity"]);
        Assert.Null(registry["passwordSecretRef"]);
    }

    [Fact]
    public void Entra_ID_settings_reach_the_api_only_when_a_client_id_is_configured()
    {
        Assert.DoesNotContain(Environment("api").Keys, k => k.StartsWith("AzureAd__", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_Entra_app_registration_becomes_the_apis_AzureAd_settings()
    {
        var entra = new Dictionary<string, string>
        {
            ["PERSONAGYM_ENTRA_TENANT_ID"] = "11111111-1111-1111-1111-111111111111",
            ["PERSONAGYM_ENTRA_CLIENT_ID"] = "22222222-2222-2222-2222-222222222222",
            ["PERSONAGYM_ENTRA_AUDIENCE"] = "api://personagym",
        };
        var app = Deployment.ContainerApp(await Deployment.ServiceAsync(_deployed.Bicep, "api", _deployed.Main, entra), "api");
        var environment = EnvironmentOf(app);

        Assert.Equal("https://login.microsoftonline.com/", (string?)environment["AzureAd__Instance"]["value"]);
        Assert.Equal("11111111-1111-1111-1111-111111111111", (string?)environment["AzureAd__TenantId"]["value"]);
        Assert.Equal("22222222-2222-2222-2222-222222222222", (string?)environment["AzureAd__ClientId"]["value"]);
        Assert.Equal("api://personagym", (string?)environment["AzureAd__Audience"]["value"]);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("question-generator")]
    [InlineData("agent-runner")]
    [InlineData("judge")]
    public void Every_service_gets_the_model_specs_main_settled_on(string service)
    {
        var environment = Environment(service);
        Assert.Equal("offline:judge-a,offline:judge-b", (string?)environment["PersonaGym__Models__Judges"]["value"]);
        Assert.Equal("offline:agent", (string?)environment["PersonaGym__Models__Agents"]["value"]);
        Assert.Equal("8080", (string?)environment["ASPNETCORE_HTTP_PORTS"]["value"]);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("question-generator")]
    [InlineData("agent-runner")]
    [InlineData("judge")]
    public void Every_service_logs_in_to_PostgreSQL_with_an_Entra_token_of_the_apps_identity(string service)
    {
        var variables = Deployment.Variables(_deployed.Main);
        var environment = Environment(service);

        Assert.Equal("EntraManagedIdentity", (string?)environment["PersonaGym__Database__Authentication"]["value"]);
        Assert.Equal(variables["PERSONAGYM_IDENTITY_CLIENT_ID"], (string?)environment["PersonaGym__Database__ClientId"]["value"]);
        // Its connection string (a vault reference) is the one without a password (MainTemplateTests).
        Assert.Equal("personagym-connection-string", (string?)environment["ConnectionStrings__personagym"]["secretRef"]);
        Assert.False(environment.ContainsKey("ConnectionStrings__personagym-owner"));
    }

    [Theory]
    [InlineData("question-generator")]
    [InlineData("agent-runner")]
    [InlineData("judge")]
    public void Workers_run_no_migration_step_and_carry_only_the_apps_identity(string service)
    {
        var app = _deployed.Apps[service];

        Assert.Null(app["properties"]!["template"]!["initContainers"]);
        var identity = Assert.Single(app["identity"]!["userAssignedIdentities"]!.AsObject());
        Assert.Equal((string)_deployed.Main["outputs"]!["PERSONAGYM_IDENTITY_ID"]!, identity.Key);
    }

    [Fact]
    public void The_api_runs_the_migration_step_first_as_the_servers_Entra_administrator_and_then_only_checks_the_schema()
    {
        var app = _deployed.Apps["api"];
        var variables = Deployment.Variables(_deployed.Main);
        var template = app["properties"]!["template"]!;

        var step = Assert.Single(template["initContainers"]!.AsArray())!;
        Assert.Equal((string?)template["containers"]![0]!["image"], (string?)step["image"]);
        Assert.Equal(["migrate"], step["args"]!.AsArray().Select(a => (string)a!));
        var environment = step["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => (string?)e!["value"]);
        Assert.Equal("EntraManagedIdentity", environment["PersonaGym__Database__Authentication"]);
        Assert.Equal(variables["PERSONAGYM_MIGRATION_IDENTITY_CLIENT_ID"], environment["PersonaGym__Database__ClientId"]);
        Assert.Equal(variables["PERSONAGYM_IDENTITY_NAME"], environment["PersonaGym__Database__ServiceRole"]);
        Assert.Equal("true", environment["PersonaGym__Database__CreateEntraPrincipal"]);
        var owner = environment["ConnectionStrings__personagym-owner"]!;
        Assert.Contains($"Username={variables["PERSONAGYM_MIGRATION_IDENTITY_NAME"]};", owner);
        Assert.Contains("SSL Mode=Require", owner);
        Assert.DoesNotContain("Password", owner, StringComparison.OrdinalIgnoreCase);
        Assert.All(step["env"]!.AsArray(), e => Assert.Null(e!["secretRef"]));

        // The app carries both identities; its own container logs in as the apps' identity and does not migrate.
        var identities = app["identity"]!["userAssignedIdentities"]!.AsObject().Select(i => i.Key).Order().ToList();
        Assert.Equal(new[] { variables["PERSONAGYM_IDENTITY_ID"], variables["PERSONAGYM_MIGRATION_IDENTITY_ID"] }.Order(), identities);
        Assert.Equal("false", (string?)Environment("api")["PersonaGym__Database__MigrateAtStart"]["value"]);
    }

    private string KeyVaultUri => Deployment.Variables(_deployed.Main)["PERSONAGYM_KEY_VAULT_URI"];

    private JsonNode Secret(string service, string name) =>
        _deployed.Apps[service]["properties"]!["configuration"]!["secrets"]!.AsArray().Single(s => (string?)s!["name"] == name)!;

    private Dictionary<string, JsonNode> Environment(string service) => EnvironmentOf(_deployed.Apps[service]);

    private static Dictionary<string, JsonNode> EnvironmentOf(JsonObject app) =>
        app["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!);
}
