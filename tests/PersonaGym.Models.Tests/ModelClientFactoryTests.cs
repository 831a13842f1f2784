using Microsoft.Extensions.AI;
using PersonaGym.Models.Tests.Support;

namespace PersonaGym.Models.Tests;

public class ModelClientFactoryTests
{
    [Fact]
    public void Missing_openai_key_is_reported_naming_the_environment_variable()
    {
        var problems = TestModels.Clients(TestModels.Configuration()).Validate([ModelSpec.Parse("openai:gpt-4o-mini")]);

        var problem = Assert.Single(problems);
        Assert.Equal("openai:gpt-4o-mini", problem.Spec);
        Assert.Contains("OPENAI_API_KEY", problem.Message);
        Assert.Contains("PersonaGym:Providers:openai:ApiKey", problem.Message);
    }

    [Fact]
    public void Validate_reports_every_problem_at_once()
    {
        var problems = TestModels.Clients(TestModels.Configuration()).Validate(
            ["anthropic:claude-3-5-sonnet-latest", "azure-openai:gpt-4o", "gemini:pro", "offline:sim", "ollama:llama3.1"]);

        Assert.Equal(4, problems.Count);
        Assert.Contains(problems, p => p.Message.Contains("ANTHROPIC_API_KEY"));
        Assert.Contains(problems, p => p.Message.Contains("AZURE_OPENAI_API_KEY"));
        Assert.Contains(problems, p => p.Message.Contains("AZURE_OPENAI_ENDPOINT"));
        Assert.Contains(problems, p => p.Spec == "gemini:pro");
    }

    [Fact]
    public void Keys_come_from_configuration_or_the_environment()
    {
        var fromConfiguration = TestModels.Clients(TestModels.Configuration(("PersonaGym:Providers:anthropic:ApiKey", TestModels.AnthropicKey)));
        var fromEnvironment = new ModelClientFactory(TestModels.Configuration(), _ => throw new InvalidOperationException(),
            environment: name => name == "OPENAI_API_KEY" ? TestModels.OpenAIKey : null);

        Assert.Empty(fromConfiguration.Validate([ModelSpec.Parse("anthropic:claude-3-5-sonnet-latest")]));
        Assert.Empty(fromEnvironment.Validate([ModelSpec.Parse("openai:gpt-4o-mini")]));
    }

    [Fact]
    public void An_openai_compatible_server_at_a_custom_url_needs_no_key()
    {
        Assert.Empty(TestModels.Clients(TestModels.Configuration()).Validate([ModelSpec.Parse("openai:llama3@http://localhost:8000/v1")]));
    }

    [Fact]
    public async Task A_missing_key_fails_before_any_request_is_sent()
    {
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200, "{}"));
        var clients = TestModels.Clients(TestModels.Configuration());

        var failure = Assert.Throws<ModelConfigurationException>(() => clients.CreateChatClient(ModelSpec.Parse($"anthropic:claude-3-5-sonnet-latest@{server.BaseAddress}")));

        Assert.Contains("ANTHROPIC_API_KEY", failure.Message);
        Assert.Equal(0, server.Count);
    }

    [Fact]
    public async Task Offline_specs_are_served_by_the_offline_factory_with_the_model_name()
    {
        string? requested = null;
        var offline = new CallbackChatClient((_, _, _) => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "offline answer"))));
        var clients = TestModels.Clients(TestModels.Configuration(), name => { requested = name; return offline; });

        var response = await clients.CreateChatClient(ModelSpec.Parse("offline:persona-sim")).GetResponseAsync("hello");

        Assert.Equal("persona-sim", requested);
        Assert.Equal("offline answer", response.Text);
    }
}
