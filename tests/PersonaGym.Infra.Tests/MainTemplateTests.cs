using System.Text.Json.Nodes;

namespace PersonaGym.Infra.Tests;

/// <summary>What infra/main.bicep provisions and refuses, evaluated offline as Azure Resource Manager would.</summary>
public sealed class MainTemplateTests : IClassFixture<MainTemplateTests.Defaults>
{
    /// <summary>main.bicep evaluated once with its defaults, shared by the tests that need nothing else.</summary>
    public sealed class Defaults : IAsyncLifetime
    {
        public Bicep Bicep { get; } = new();
        public JsonObject Main { get; private set; } = null!;

        public async Task InitializeAsync() => Main = await Deployment.MainAsync(Bicep);

        public Task DisposeAsync()
        {
            Bicep.Dispose();
            return Task.CompletedTask;
        }
    }

    private readonly Bicep _bicep;
    private readonly JsonObject _defaults;

    public MainTemplateTests(Defaults defaults) => (_bicep, _defaults) = (defaults.Bicep, defaults.Main);

    [Fact]
    public async Task Each_replica_pool_is_its_share_of_the_servers_connections_at_the_replica_maxima()
    {
        var defaults = _defaults;
        // Standard_B2s: 429 connections, 15 kept by Azure, 10 spare; 2 + 2 + 3 + 10 replicas at most.
        Assert.Equal((429 - 15 - 10) / (2 + 2 + 3 + 10), Deployment.Output(defaults, "PERSONAGYM_MAX_POOL_SIZE"));

        var fewerJudges = await Deployment.MainAsync(_bicep, ("judgeMaxReplicas", "4"));
        Assert.Equal((429 - 15 - 10) / (2 + 2 + 3 + 4), Deployment.Output(fewerJudges, "PERSONAGYM_MAX_POOL_SIZE"));

        var large = await Deployment.MainAsync(_bicep, ("postgresSkuName", "'Standard_E4ds_v5'"), ("postgresSkuTier", "'MemoryOptimized'"));
        Assert.Equal(100, Deployment.Output(large, "PERSONAGYM_MAX_POOL_SIZE"));
    }

    [Fact]
    public async Task The_pool_bound_is_part_of_the_connection_string_every_service_reads()
    {
        // The string is built where it is handed to the vault: the secret the container apps reference.
        var template = await _bicep.BuildAsync("main");
        var vaultModule = ResourcesOf(template).Single(r => (string?)r["name"] == "keyvault");
        var connectionString = (string)vaultModule["properties"]!["parameters"]!["secrets"]!["value"]!["personagym-connection-string"]!;
        Assert.Contains("SSL Mode=Require;Maximum Pool Size={3}", connectionString);
        Assert.EndsWith("variables('maxPoolSize'))]", connectionString);

        var main = _defaults;
        var vault = Assert.Single(Deployment.Resources(main, "Microsoft.KeyVault/vaults"));
        Assert.Contains(Deployment.Resources(main, "Microsoft.KeyVault/vaults/secrets"),
            s => (string?)s["name"] == $"{vault["name"]}/personagym-connection-string");
    }

    [Fact]
    public async Task A_server_too_small_for_the_replica_maxima_is_refused_before_anything_is_created()
    {
        var (snapshot, output) = await _bicep.SnapshotAsync("main", Deployment.MainParameters(("postgresSkuName", "'Standard_B1ms'")));

        Assert.Null(snapshot);
        Assert.Contains("PostgreSQL Standard_B1ms leaves 25 connections for 17 replicas at most", output);
        Assert.Contains("Choose a larger postgresSkuName or lower the replica maxima", output);

        // The same server fits a smaller system.
        var small = await Deployment.MainAsync(_bicep, ("postgresSkuName", "'Standard_B1ms'"),
            ("apiMaxReplicas", "1"), ("questionGeneratorMaxReplicas", "1"), ("agentRunnerMaxReplicas", "1"), ("judgeMaxReplicas", "1"),
            ("minimumPoolSize", "5"));
        Assert.Equal((50 - 15 - 10) / 4, Deployment.Output(small, "PERSONAGYM_MAX_POOL_SIZE"));
    }

    [Fact]
    public async Task A_server_size_of_unknown_connection_limit_needs_the_limit_stated()
    {
        var (snapshot, output) = await _bicep.SnapshotAsync("main", Deployment.MainParameters(("postgresSkuName", "'Standard_D96ds_v5'")));
        Assert.Null(snapshot);
        Assert.Contains("set postgresMaxConnections", output);

        var stated = await Deployment.MainAsync(_bicep, ("postgresSkuName", "'Standard_D96ds_v5'"), ("postgresMaxConnections", "5000"));
        Assert.Equal(100, Deployment.Output(stated, "PERSONAGYM_MAX_POOL_SIZE"));
    }

    [Fact]
    public async Task The_services_connection_string_carries_no_password_and_names_the_apps_identity()
    {
        var template = await _bicep.BuildAsync("main");
        var vaultModule = ResourcesOf(template).Single(r => (string?)r["name"] == "keyvault");
        var connectionString = (string)vaultModule["properties"]!["parameters"]!["secrets"]!["value"]!["personagym-connection-string"]!;

        Assert.DoesNotContain("Password", connectionString, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Username={", connectionString);
        Assert.Contains("identityName", connectionString);
    }

    [Fact]
    public async Task The_server_takes_Entra_tokens_and_its_Entra_administrator_is_the_migration_identity_only()
    {
        var server = Assert.Single(Deployment.Resources(_defaults, "Microsoft.DBforPostgreSQL/flexibleServers"));
        var auth = server["properties"]!["authConfig"]!;
        Assert.Equal("Enabled", (string?)auth["activeDirectoryAuth"]);
        Assert.NotNull(auth["tenantId"]);

        var administrator = Assert.Single(Deployment.Resources(_defaults, "Microsoft.DBforPostgreSQL/flexibleServers/administrators"));
        Assert.Equal("ServicePrincipal", (string?)administrator["properties"]!["principalType"]);
        Assert.Equal($"id-{Deployment.EnvironmentName}-migrations", (string?)administrator["properties"]!["principalName"]);

        // Created after the database: a Flexible Server takes one change at a time.
        var template = await _bicep.BuildAsync("modules/postgres");
        var resource = ResourcesOf(template).Single(r => (string?)r["type"] == "Microsoft.DBforPostgreSQL/flexibleServers/administrators");
        Assert.Contains(resource["dependsOn"]!.AsArray().Select(d => (string)d!),
            d => d.Contains("Microsoft.DBforPostgreSQL/flexibleServers/databases", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_database_is_created_only_after_the_firewall_rule()
    {
        var template = await _bicep.BuildAsync("modules/postgres");
        var database = ResourcesOf(template).Single(r => (string?)r["type"] == "Microsoft.DBforPostgreSQL/flexibleServers/databases");
        var dependsOn = database["dependsOn"]!.AsArray().Select(d => (string)d!).ToList();
        Assert.Contains(dependsOn, d => d.Contains("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", StringComparison.Ordinal));
    }

    [Fact]
    public void RabbitMQ_is_one_replica_reachable_only_inside_the_environment_with_its_password_from_Key_Vault()
    {
        var main = _defaults;
        var broker = Deployment.ContainerApp(main, "rabbitmq");
        var configuration = broker["properties"]!["configuration"]!;

        Assert.False(configuration["ingress"]!["external"]!.GetValue<bool>());
        Assert.Equal("tcp", (string?)configuration["ingress"]!["transport"]);
        Assert.Equal(5672, configuration["ingress"]!["targetPort"]!.GetValue<int>());
        Assert.Equal(1, broker["properties"]!["template"]!["scale"]!["minReplicas"]!.GetValue<int>());
        Assert.Equal(1, broker["properties"]!["template"]!["scale"]!["maxReplicas"]!.GetValue<int>());

        var secret = Assert.Single(configuration["secrets"]!.AsArray())!;
        Assert.Null(secret["value"]);
        Assert.Contains("secrets/rabbitmq-password", (string)secret["keyVaultUrl"]!);

        // Disposable state: an EmptyDir volume, never an Azure Files share.
        var volume = Assert.Single(broker["properties"]!["template"]!["volumes"]!.AsArray())!;
        Assert.Equal("EmptyDir", (string?)volume["storageType"]);
    }

    [Fact]
    public void The_apps_identity_may_read_the_vaults_secrets_and_pull_images_and_nothing_more()
    {
        var main = _defaults;
        var vault = Assert.Single(Deployment.Resources(main, "Microsoft.KeyVault/vaults"));
        Assert.True(vault["properties"]!["enableRbacAuthorization"]!.GetValue<bool>());

        var roles = Deployment.Resources(main, "Microsoft.Authorization/roleAssignments")
            .Select(r => ((string)r["properties"]!["roleDefinitionId"]!).Split('/').Last())
            .Order()
            .ToList();
        // Key Vault Secrets User and AcrPull.
        Assert.Equal(["4633458b-17de-408a-b874-0445c86b69e6", "7f951dda-4ed3-4680-a7ca-43fe172d538d"], roles);

        var registry = Assert.Single(Deployment.Resources(main, "Microsoft.ContainerRegistry/registries"));
        Assert.False(registry["properties"]!["adminUserEnabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task No_secret_reaches_an_output_the_evaluated_template_or_a_parameters_file()
    {
        var main = await Deployment.MainAsync(_bicep, ("apiBootstrapKey", "'pgk-bootstrap-secret-value-4711'"),
            ("anthropicApiKey", "'sk-ant-secret-value-4711'"), ("webEntraClientSecret", "'web-client-secret-value-4711'"));
        var text = main.ToJsonString();
        foreach (var secret in new[] { Deployment.PostgresPassword, Deployment.RabbitMqPassword, Deployment.OpenAiKey, "pgk-bootstrap-secret-value-4711", "sk-ant-secret-value-4711", "web-client-secret-value-4711" })
        {
            Assert.DoesNotContain(secret, text);
        }

        // Every secret input is a secure parameter, and the parameters files only name environment variables.
        var template = await _bicep.BuildAsync("main");
        foreach (var name in new[] { "postgresAdminPassword", "rabbitmqPassword", "openAiApiKey", "anthropicApiKey", "azureOpenAiApiKey", "apiBootstrapKey", "webEntraClientSecret" })
        {
            Assert.Equal("securestring", (string?)template["parameters"]![name]!["type"]);
        }
        foreach (var file in Directory.EnumerateFiles(Repository.Infra, "*.parameters.json"))
        {
            var parameters = JsonNode.Parse(await File.ReadAllTextAsync(file))!["parameters"]!.AsObject();
            Assert.All(parameters, p => Assert.Matches(@"^\$\{[A-Z0-9_]+\}$", (string)p.Value!["value"]!));
        }
    }

    [Fact]
    public async Task Every_variable_a_service_deployment_reads_is_an_output_of_main_or_set_by_azd()
    {
        var main = _defaults;
        var outputs = main["outputs"]!.AsObject().Select(o => o.Key).ToHashSet();
        var azd = new HashSet<string> { "AZURE_ENV_NAME" };

        foreach (var service in Deployment.Services)
        {
            var parameters = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Repository.Infra, $"{service}.parameters.json")))!["parameters"]!.AsObject();
            var image = $"SERVICE_{service.ToUpperInvariant().Replace('-', '_')}_IMAGE_NAME";
            foreach (var (name, entry) in parameters)
            {
                var variable = ((string)entry!["value"]!)[2..^1];
                Assert.True(outputs.Contains(variable) || azd.Contains(variable) || variable == image,
                    $"{service}.parameters.json: {name} reads ${{{variable}}}, which nothing sets.");
            }
        }
    }

    // Bicep writes resources as an array, or as an object by symbolic name when a file needs language version 2.
    private static IEnumerable<JsonObject> ResourcesOf(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.Select(r => r!.AsObject()),
        JsonObject byName => byName.Select(r => r.Value!.AsObject()),
        _ => [],
    };
}
