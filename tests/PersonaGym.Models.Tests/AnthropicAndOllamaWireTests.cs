using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using PersonaGym.Models.Tests.Support;

namespace PersonaGym.Models.Tests;

/// <summary>The Anthropic messages and Ollama chat protocols, over real HTTP against local stubs.</summary>
public class AnthropicAndOllamaWireTests
{
    private static readonly ChatMessage[] PersonaConversation =
    [
        new(ChatRole.System, "You are Ada, a retired lighthouse keeper."),
        new(ChatRole.User, "Who are you?"),
    ];

    private const string AnthropicMessage = """
        {"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-sonnet-latest",
         "content":[{"type":"text","text":"Ada here, keeper of the light."}],
         "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":7}}
        """;

    private static ModelPipelineFactory Pipeline(ListRecorder recorder, params (string, string?)[] configuration) =>
        new(TestModels.Clients(TestModels.Configuration(configuration)), TestModels.FastOptions(), null, recorder, null, TestTimeProvider.Instant());

    [Fact]
    public async Task Anthropic_gets_the_persona_as_top_level_system_and_the_configured_key()
    {
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200, AnthropicMessage));
        var recorder = new ListRecorder();
        var client = Pipeline(recorder, ("PersonaGym:Providers:anthropic:ApiKey", TestModels.AnthropicKey))
            .GetChatClient($"anthropic:claude-3-5-sonnet-latest@{server.BaseAddress}");

        var response = await client.GetResponseAsync(PersonaConversation, new ChatOptions { Temperature = 0.5f, MaxOutputTokens = 300 }.WithStage("judge"));

        var sent = Assert.Single(server.Requests);
        Assert.Equal("/v1/messages", sent.Path);
        // Anthropic SDK 13.x sends the API key as a bearer token (documented on ClientOptions.ApiKey).
        Assert.Equal($"Bearer {TestModels.AnthropicKey}", sent.Headers["authorization"]);
        Assert.True(sent.Headers.ContainsKey("anthropic-version"));
        Assert.Equal("claude-3-5-sonnet-latest", (string?)sent.Body!["model"]);
        Assert.Equal(300, (int)sent.Body["max_tokens"]!);
        // Anthropic SDK 13.14's MessageCreateParams has no temperature field, so the request carries none and the
        // model samples at its default. Pinned here so an SDK that sends it again is noticed.
        Assert.Null(sent.Body["temperature"]);
        Assert.Equal("You are Ada, a retired lighthouse keeper.", SystemText(sent.Body["system"]));
        var messages = sent.Body["messages"]!.AsArray();
        Assert.DoesNotContain(messages, m => (string?)m!["role"] == "system");
        Assert.Equal("user", (string?)messages.Single()!["role"]);

        Assert.Equal("Ada here, keeper of the light.", response.Text);
        var record = Assert.Single(recorder.Records);
        Assert.Equal(("judge", 20L, 7L), (record.Stage, record.InputTokens, record.OutputTokens));
    }

    [Fact]
    public async Task Anthropic_overload_is_retried_and_a_bad_request_is_not()
    {
        await using var overloaded = await StubServer.StartAsync((request, context) => request.Index == 1
            ? StubServer.WriteJsonAsync(context, 529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""")
            : StubServer.WriteJsonAsync(context, 200, AnthropicMessage));
        await using var rejecting = await StubServer.StartAsync((_, context) =>
            StubServer.WriteJsonAsync(context, 400, """{"type":"error","error":{"type":"invalid_request_error","message":"temperature: range"}}"""));
        var pipeline = Pipeline(new ListRecorder(), ("PersonaGym:Providers:anthropic:ApiKey", TestModels.AnthropicKey));

        var response = await pipeline.GetChatClient($"anthropic:claude-3-5-sonnet-latest@{overloaded.BaseAddress}").GetResponseAsync(PersonaConversation);
        var failure = await Assert.ThrowsAsync<ModelCallException>(() =>
            pipeline.GetChatClient($"anthropic:claude-3-5-haiku-latest@{rejecting.BaseAddress}").GetResponseAsync(PersonaConversation));

        Assert.Equal("Ada here, keeper of the light.", response.Text);
        Assert.Equal(2, overloaded.Count);
        Assert.Equal(1, rejecting.Count);
        Assert.Equal(400, failure.StatusCode);
        Assert.Contains("anthropic:claude-3-5-haiku-latest", failure.Message);
        Assert.DoesNotContain("SECRET", failure.ToString());
    }

    [Fact]
    public async Task Ollama_gets_model_system_message_and_options_and_its_answer_is_read()
    {
        await using var server = await StubServer.StartAsync(OllamaChat);
        var recorder = new ListRecorder();
        var client = Pipeline(recorder).GetChatClient($"ollama:llama3.1@{server.BaseAddress}");

        var response = await client.GetResponseAsync(PersonaConversation, new ChatOptions { Temperature = 0.7f, MaxOutputTokens = 128 });

        var sent = Assert.Single(server.Requests);
        Assert.Equal("/api/chat", sent.Path);
        Assert.Equal("llama3.1", (string?)sent.Body!["model"]);
        Assert.Equal("system", (string?)sent.Body["messages"]![0]!["role"]);
        Assert.Equal("You are Ada, a retired lighthouse keeper.", (string?)sent.Body["messages"]![0]!["content"]);
        Assert.Equal(0.7, (double)sent.Body["options"]!["temperature"]!, 3);
        Assert.Equal(128, (int)sent.Body["options"]!["num_predict"]!);

        Assert.Equal("Ahoy, I am Ada.", response.Text);
        var record = Assert.Single(recorder.Records);
        Assert.Equal((11L, 4L), (record.InputTokens, record.OutputTokens));
    }

    [Fact]
    public async Task Ollama_server_error_is_retried()
    {
        await using var server = await StubServer.StartAsync((request, context) => request.Index == 1
            ? StubServer.WriteJsonAsync(context, 503, """{"error":"server busy, please try again"}""")
            : OllamaChat(request, context));
        var client = Pipeline(new ListRecorder()).GetChatClient($"ollama:llama3.1@{server.BaseAddress}");

        var response = await client.GetResponseAsync(PersonaConversation);

        Assert.Equal("Ahoy, I am Ada.", response.Text);
        Assert.Equal(2, server.Count);
    }

    [Fact]
    public async Task A_200_whose_body_holds_no_message_is_retried_for_anthropic_and_ollama_alike()
    {
        await using var anthropic = await StubServer.StartAsync((request, context) => request.Index == 1
            ? StubServer.WriteJsonAsync(context, 200, "<html><body>502 Bad Gateway</body></html>")
            : StubServer.WriteJsonAsync(context, 200, AnthropicMessage));
        await using var ollama = await StubServer.StartAsync((request, context) => request.Index == 1
            ? StubServer.WriteJsonAsync(context, 200, """{"model":"llama3.1","created_at":"2025-01-01T00:00:00Z","mess""")
            : OllamaChat(request, context));
        var pipeline = Pipeline(new ListRecorder(), ("PersonaGym:Providers:anthropic:ApiKey", TestModels.AnthropicKey));

        var fromAnthropic = await pipeline.GetChatClient($"anthropic:claude-3-5-sonnet-latest@{anthropic.BaseAddress}").GetResponseAsync(PersonaConversation);
        var fromOllama = await pipeline.GetChatClient($"ollama:llama3.1@{ollama.BaseAddress}").GetResponseAsync(PersonaConversation);

        Assert.Equal(("Ada here, keeper of the light.", 2), (fromAnthropic.Text, anthropic.Count));
        Assert.Equal(("Ahoy, I am Ada.", 2), (fromOllama.Text, ollama.Count));
    }

    /// <summary>Answers as Ollama does: one JSON object when "stream" is false, NDJSON chunks otherwise.</summary>
    private static async Task OllamaChat(RecordedRequest request, HttpContext context)
    {
        const string Final = """{"model":"llama3.1","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"%"},"done":true,"done_reason":"stop","prompt_eval_count":11,"eval_count":4}""";
        if (request.Body?["stream"] is JsonValue stream && !stream.GetValue<bool>())
        {
            await StubServer.WriteJsonAsync(context, 200, Final.Replace("%", "Ahoy, I am Ada."));
            return;
        }

        context.Response.ContentType = "application/x-ndjson";
        await context.Response.WriteAsync("""{"model":"llama3.1","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Ahoy, "},"done":false}""" + "\n");
        await context.Response.WriteAsync(Final.Replace("%", "I am Ada.") + "\n");
    }

    private static string? SystemText(JsonNode? system) =>
        system is JsonArray blocks ? string.Concat(blocks.Select(b => (string?)b!["text"])) : (string?)system;
}
