using Microsoft.Extensions.AI;
using PersonaGym.Models.Tests.Support;

namespace PersonaGym.Models.Tests;

/// <summary>
/// The operator's allow-list of model endpoints (<c>PersonaGym:Endpoints</c>): what a server may call, and which key
/// goes where. Refused addresses are only validated here, never called.
/// </summary>
public class ModelEndpointPolicyTests
{
    private const string AnthropicMessage = """
        {"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-sonnet-latest",
         "content":[{"type":"text","text":"Hello."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2,"output_tokens":1}}
        """;

    private static ModelClientFactory Strict(params (string, string?)[] settings) =>
        TestModels.Clients(TestModels.Configuration([("PersonaGym:Endpoints:AllowAny", "false"), .. settings]));

    [Theory]
    [InlineData("openai:gpt@http://169.254.169.254/latest/meta-data")]
    [InlineData("openai:gpt@http://127.0.0.1:8000/v1")]
    [InlineData("openai:gpt@http://localhost:8000/v1")]
    [InlineData("openai:gpt@http://10.0.0.5/v1")]
    [InlineData("openai:gpt@http://192.168.1.20/v1")]
    [InlineData("openai:gpt@http://[::1]:8000/v1")]
    [InlineData("openai:gpt@http://[fd00::1]/v1")]
    [InlineData("ollama:llama3@http://172.16.0.1:11434")]
    public void An_unlisted_special_address_is_refused_saying_it_must_be_listed(string spec)
    {
        var problem = Assert.Single(Strict().Validate([spec]));

        Assert.Contains("PersonaGym:Endpoints:Allowed", problem.Message);
        Assert.Contains("Loopback, link-local and private addresses are refused unless listed", problem.Message);
    }

    [Theory]
    [InlineData("openai:gpt@https://models.example.com/v1")]
    [InlineData("anthropic:claude@https://proxy.example.com")]
    [InlineData("azure-openai:gpt-4o@https://attacker.openai.azure.com")]
    public void An_unlisted_public_endpoint_is_refused(string spec)
    {
        var problems = Strict(("PersonaGym:Providers:anthropic:ApiKey", "k"), ("PersonaGym:Providers:azure-openai:ApiKey", "k")).Validate([spec]);

        Assert.Contains(problems, p => p.Message.Contains("is not one this server may call"));
    }

    [Theory]
    [InlineData("openai:llama3@http://127.0.0.1:8000/v1", true)]
    [InlineData("openai:llama3@http://127.0.0.1:8000/v1/", true)]
    [InlineData("openai:llama3@http://127.0.0.1:8000/v1/chat", true)]
    [InlineData("openai:llama3@http://127.0.0.1:8000/v1/../admin", false)]
    [InlineData("openai:llama3@http://127.0.0.1:8000/v10", false)]
    [InlineData("openai:llama3@http://127.0.0.1:8001/v1", false)]
    [InlineData("openai:llama3@https://127.0.0.1:8000/v1", false)]
    [InlineData("openai:llama3@http://127.0.0.2:8000/v1", false)]
    public void A_listed_base_url_allows_exactly_its_origin_and_paths_below_it(string spec, bool allowed)
    {
        var problems = Strict(("PersonaGym:Endpoints:Allowed:0", "http://127.0.0.1:8000/v1")).Validate([spec]);

        Assert.Equal(allowed, problems.Count == 0);
    }

    [Fact]
    public void The_ollama_default_on_loopback_is_used_only_when_configured_or_listed()
    {
        Assert.Single(Strict().Validate(["ollama:llama3.1"]));
        Assert.Empty(Strict(("OLLAMA_HOST", "http://gpu-box:11434")).Validate(["ollama:llama3.1"]));
        Assert.Empty(Strict(("PersonaGym:Endpoints:Allowed:0", "http://localhost:11434")).Validate(["ollama:llama3.1"]));
    }

    [Fact]
    public void An_endpoint_configured_for_its_provider_needs_no_listing()
    {
        var clients = Strict(("AZURE_OPENAI_ENDPOINT", "https://mine.openai.azure.com"), ("AZURE_OPENAI_API_KEY", "k"));

        Assert.Empty(clients.Validate(["azure-openai:gpt-4o", "azure-openai:gpt-4o@https://mine.openai.azure.com"]));
        Assert.NotEmpty(clients.Validate(["azure-openai:gpt-4o@https://other.openai.azure.com"]));
    }

    [Fact]
    public void A_listed_endpoint_without_its_own_key_never_gets_the_providers_key()
    {
        var problems = Strict(("PersonaGym:Providers:anthropic:ApiKey", TestModels.AnthropicKey), ("PersonaGym:Endpoints:Allowed:0:Url", "https://proxy.example.com"))
            .Validate(["anthropic:claude@https://proxy.example.com"]);

        var problem = Assert.Single(problems);
        Assert.Contains("PersonaGym:Endpoints:Allowed:<n>:ApiKey", problem.Message);
        Assert.DoesNotContain(TestModels.AnthropicKey, problem.Message);
    }

    [Fact]
    public async Task A_listed_endpoint_receives_its_own_key_and_not_the_providers()
    {
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200, AnthropicMessage));
        const string endpointKey = "endpoint-only-key-123";
        var clients = Strict(
            ("PersonaGym:Providers:anthropic:ApiKey", TestModels.AnthropicKey),
            ("PersonaGym:Endpoints:Allowed:0:Url", server.BaseAddress.ToString()),
            ("PersonaGym:Endpoints:Allowed:0:ApiKey", endpointKey));

        var client = clients.CreateChatClient(ModelSpec.Parse($"anthropic:claude-3-5-sonnet-latest@{server.BaseAddress}"));
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], new ChatOptions { MaxOutputTokens = 10 });

        var sent = Assert.Single(server.Requests);
        Assert.Equal($"Bearer {endpointKey}", sent.Headers["authorization"]);
        Assert.DoesNotContain(sent.Headers.Values, v => v.Contains(TestModels.AnthropicKey));
    }

    [Fact]
    public void Creating_a_client_for_a_refused_endpoint_fails_before_any_call()
    {
        var failure = Assert.Throws<ModelConfigurationException>(() => Strict().CreateChatClient(ModelSpec.Parse("openai:gpt@http://169.254.169.254/v1")));

        Assert.Contains("169.254.169.254", failure.Message);
    }

    [Fact]
    public void An_unusable_allow_list_entry_is_reported()
    {
        var problems = Strict(("PersonaGym:Endpoints:Allowed:0", "not a url")).Validate(["openai:gpt@https://models.example.com/v1"]);

        Assert.Contains(problems, p => p.Message.Contains("PersonaGym:Endpoints:Allowed:0 is not an absolute http(s) URL"));
    }
}
