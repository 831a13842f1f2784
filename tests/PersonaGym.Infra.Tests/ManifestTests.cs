using System.Text.Json.Nodes;

namespace PersonaGym.Infra.Tests;

/// <summary>
/// The manifest the AppHost publishes (<c>dotnet run --project AppHost -- --publisher manifest --output-path …</c>,
/// what azd and other deployment tools read): the resources, each worker's replica count, no data volumes, and no
/// secret value, only references to secret parameters.
/// </summary>
public sealed class ManifestTests
{
    private const string OpenAiKey = "sk-manifest-secret-value-4711";
    private const string PostgresPassword = "Pg-Manifest-Secret-4711";

    private static async Task<(JsonObject Resources, string Text)> PublishAsync(params string[] settings)
    {
        var output = Directory.CreateTempSubdirectory("personagym-manifest-").FullName;
        try
        {
            var path = Path.Combine(output, "aspire-manifest.json");
            string[] arguments =
            [
                "run", "--no-build", "--no-launch-profile", "-c", Repository.Configuration,
                "--project", Path.Combine(Repository.Root, "AppHost", "PersonaGym.AppHost.csproj"),
                "--", "--publisher", "manifest", "--output-path", path, .. settings,
            ];
            var (exitCode, log) = await Repository.RunAsync("dotnet", arguments, Repository.Root, TimeSpan.FromMinutes(3));
            Assert.True(exitCode == 0 && File.Exists(path), $"Publishing the manifest failed ({exitCode}):\n{log}");
            var text = await File.ReadAllTextAsync(path);
            return (JsonNode.Parse(text)!["resources"]!.AsObject(), text);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task The_manifest_names_the_four_services_the_database_and_the_broker()
    {
        var (resources, _) = await PublishAsync();

        foreach (var service in new[] { "api", "question-generator", "agent-runner", "judge" })
        {
            Assert.Equal("project.v0", (string?)resources[service]?["type"]);
            Assert.Equal("{personagym.connectionString}", (string?)resources[service]!["env"]!["ConnectionStrings__personagym"]);
            Assert.Equal("{rabbitmq.connectionString}", (string?)resources[service]!["env"]!["ConnectionStrings__rabbitmq"]);
        }
        Assert.Equal("container.v0", (string?)resources["postgres"]?["type"]);
        Assert.Equal("container.v0", (string?)resources["rabbitmq"]?["type"]);
        // The broker's user is its own parameter (default personagym), never the image's guest.
        Assert.Equal("{rabbitmq-user.value}", (string?)resources["rabbitmq"]!["env"]!["RABBITMQ_DEFAULT_USER"]);
        Assert.Equal("personagym", (string?)resources["rabbitmq-user"]!["inputs"]!["value"]!["default"]!["value"]);
        Assert.StartsWith("amqp://{rabbitmq-user-uri-encoded.value}:", (string?)resources["rabbitmq"]!["connectionString"]);
        Assert.DoesNotContain("guest", resources["rabbitmq"]!.ToJsonString());
        Assert.Equal("value.v0", (string?)resources["personagym"]?["type"]);
        // Only the Api is published with an external endpoint.
        Assert.True(resources["api"]!["bindings"]!["http"]!["external"]!.GetValue<bool>());
        Assert.Null(resources["judge"]!["bindings"]!["http"]!["external"]);
    }

    [Fact]
    public async Task Each_worker_carries_its_replica_count_default_and_configured()
    {
        var (defaults, _) = await PublishAsync();
        // Two of every stage by default, so one dying process never stops a stage.
        Assert.Equal(2, defaults["question-generator"]!["replicas"]!.GetValue<int>());
        Assert.Equal(2, defaults["agent-runner"]!["replicas"]!.GetValue<int>());
        Assert.Equal(2, defaults["judge"]!["replicas"]!.GetValue<int>());

        var (configured, _) = await PublishAsync("--QuestionGenerator:Replicas=4", "--AgentRunner:Replicas=3", "--Judge:Replicas=5");
        Assert.Equal(4, configured["question-generator"]!["replicas"]!.GetValue<int>());
        Assert.Equal(3, configured["agent-runner"]!["replicas"]!.GetValue<int>());
        Assert.Equal(5, configured["judge"]!["replicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_price_list_and_the_model_limits_reach_every_service()
    {
        var (resources, _) = await PublishAsync(
            "--PersonaGym:Pricing:Currency=EUR", "--PersonaGym:Pricing:Models:0:Model=openai:gpt-4o-mini",
            "--PersonaGym:Pricing:Models:0:InputPerMillionTokens=0.15", "--PersonaGym:Models:MaxConcurrency=16");

        foreach (var service in new[] { "api", "question-generator", "agent-runner", "judge" })
        {
            var env = resources[service]!["env"]!;
            Assert.Equal("EUR", (string?)env["PersonaGym__Pricing__Currency"]);
            Assert.Equal("openai:gpt-4o-mini", (string?)env["PersonaGym__Pricing__Models__0__Model"]);
            Assert.Equal("0.15", (string?)env["PersonaGym__Pricing__Models__0__InputPerMillionTokens"]);
            Assert.Equal("16", (string?)env["PersonaGym__Models__MaxConcurrency"]);
        }
    }

    [Fact]
    public async Task Every_replicas_database_pool_is_sized_so_that_all_of_them_fit_the_servers_connections()
    {
        // The server is started with 500 connections; 20 stay out of the pools; the rest is shared by the Api and
        // every worker replica, at most 100 each.
        var (defaults, _) = await PublishAsync();
        Assert.Equal(["-c", "max_connections=500"], defaults["postgres"]!["args"]!.AsArray().Select(a => (string)a!));
        Assert.EndsWith(";Maximum Pool Size=68", (string?)defaults["personagym"]!["connectionString"]); // 480 ÷ (1 + 2 + 2 + 2)
        // The migration step runs alone: Npgsql's default pool.
        Assert.DoesNotContain("Pool Size", (string?)defaults["personagym-owner"]!["connectionString"]);

        var (more, _) = await PublishAsync("--Judge:Replicas=8", "--AgentRunner:Replicas=4");
        Assert.EndsWith(";Maximum Pool Size=32", (string?)more["personagym"]!["connectionString"]); // 480 ÷ 15

        var (few, _) = await PublishAsync("--Judge:Replicas=1", "--AgentRunner:Replicas=1", "--QuestionGenerator:Replicas=1");
        Assert.EndsWith(";Maximum Pool Size=100", (string?)few["personagym"]!["connectionString"]); // 480 ÷ 4, capped
    }

    [Theory]
    [InlineData("--Judge:Replicas=40", "below the 16 a stage needs")]
    [InlineData("--Judge:Replicas=0", "Judge:Replicas must be a whole number of at least 1, got '0'")]
    [InlineData("--AgentRunner:Replicas=many", "AgentRunner:Replicas must be a whole number of at least 1, got 'many'")]
    public async Task Replica_counts_that_cannot_work_are_refused_with_the_reason(string setting, string reason)
    {
        var output = Directory.CreateTempSubdirectory("personagym-manifest-").FullName;
        try
        {
            string[] arguments =
            [
                "run", "--no-build", "--no-launch-profile", "-c", Repository.Configuration,
                "--project", Path.Combine(Repository.Root, "AppHost", "PersonaGym.AppHost.csproj"),
                "--", "--publisher", "manifest", "--output-path", Path.Combine(output, "aspire-manifest.json"), setting,
            ];
            var (exitCode, log) = await Repository.RunAsync("dotnet", arguments, Repository.Root, TimeSpan.FromMinutes(3));
            Assert.NotEqual(0, exitCode);
            Assert.Contains(reason, log);
            Assert.False(File.Exists(Path.Combine(output, "aspire-manifest.json")));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task A_published_manifest_has_no_data_volumes()
    {
        var (resources, _) = await PublishAsync();
        Assert.All(resources, resource => Assert.Null(resource.Value!["volumes"]));
        Assert.All(resources, resource => Assert.Null(resource.Value!["bindMounts"]));
    }

    [Fact]
    public async Task Secrets_appear_only_as_references_to_secret_parameters()
    {
        var (resources, text) = await PublishAsync(
            $"--Parameters:openai-api-key={OpenAiKey}", $"--Parameters:postgres-password={PostgresPassword}");

        Assert.DoesNotContain(OpenAiKey, text);
        Assert.DoesNotContain(PostgresPassword, text);
        Assert.True(resources["openai-api-key"]!["inputs"]!["value"]!["secret"]!.GetValue<bool>());
        Assert.True(resources["postgres-password"]!["inputs"]!["value"]!["secret"]!.GetValue<bool>());
        Assert.Equal("{openai-api-key.value}", (string?)resources["judge"]!["env"]!["OPENAI_API_KEY"]);

        // The services' login is the service role's, with a generated secret password; the superuser's reaches no service.
        Assert.Contains("{postgres-service-password.value}", (string?)resources["personagym"]!["connectionString"]);
        Assert.Contains("Username=personagym_service;", (string?)resources["personagym"]!["connectionString"]);
        Assert.True(resources["postgres-service-password"]!["inputs"]!["value"]!["secret"]!.GetValue<bool>());
        Assert.True(resources["postgres-owner-password"]!["inputs"]!["value"]!["secret"]!.GetValue<bool>());
        foreach (var service in new[] { "migrations", "api", "question-generator", "agent-runner", "judge", "web" })
        {
            Assert.DoesNotContain("postgres-password", resources[service]!.ToJsonString());
        }
    }

    [Fact]
    public async Task The_migration_step_alone_gets_the_owners_login_and_the_api_does_not_migrate()
    {
        var (resources, _) = await PublishAsync();

        var migrations = resources["migrations"]!;
        Assert.Equal("project.v0", (string?)migrations["type"]);
        Assert.Equal(["migrate"], migrations["args"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("{personagym-owner.connectionString}", (string?)migrations["env"]!["ConnectionStrings__personagym-owner"]);
        Assert.Equal("personagym_service", (string?)migrations["env"]!["PersonaGym__Database__ServiceRole"]);
        Assert.Contains("{postgres-owner-password.value}", (string?)resources["personagym-owner"]!["connectionString"]);
        Assert.Contains("Username=personagym_owner;", (string?)resources["personagym-owner"]!["connectionString"]);

        foreach (var service in new[] { "api", "question-generator", "agent-runner", "judge", "web" })
        {
            Assert.DoesNotContain("personagym-owner", resources[service]!.ToJsonString());
        }
        Assert.Equal("false", (string?)resources["api"]!["env"]!["PersonaGym__Database__MigrateAtStart"]);
    }

    [Fact]
    public async Task Azure_runs_the_RabbitMQ_image_the_AppHost_runs()
    {
        var (resources, _) = await PublishAsync();
        using var bicep = new Bicep();
        var template = await bicep.BuildAsync("main");

        Assert.Equal((string?)resources["rabbitmq"]!["image"], (string?)template["parameters"]!["rabbitmqImage"]!["defaultValue"]);
    }
}
