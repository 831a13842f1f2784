using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using PersonaGym.Models.Tests.Support;

namespace PersonaGym.Models.Tests;

/// <summary>The OpenAI chat-completions protocol, over real HTTP against a local OpenAI-compatible stub.</summary>
public class OpenAIWireTests
{
    private const string Completion = """
        {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"llama3",
         "choices":[{"index":0,"message":{"role":"assistant","content":"I am Ada, a retired lighthouse keeper."},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}
        """;

    private static readonly ChatMessage[] PersonaConversation =
    [
        new(ChatRole.System, "You are Ada, a retired lighthouse keeper."),
        new(ChatRole.User, "Who are you?"),
    ];

    private static ModelPipelineFactory Pipeline(ListRecorder recorder, TestTimeProvider time, ModelPipelineOptions? options = null, params (string, string?)[] configuration) =>
        new(TestModels.Clients(TestModels.Configuration(configuration)), options ?? TestModels.FastOptions(), null, recorder, null, time);

    [Fact]
    public async Task Sends_model_persona_system_message_temperature_and_max_tokens_and_reads_text_and_usage()
    {
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200, Completion));
        var recorder = new ListRecorder();
        var client = Pipeline(recorder, TestTimeProvider.Instant()).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var response = await client.GetResponseAsync(PersonaConversation, new ChatOptions { Temperature = 0.3f, MaxOutputTokens = 256 }.WithStage("agent-answer"));

        var sent = Assert.Single(server.Requests);
        Assert.Equal("POST", sent.Method);
        Assert.Equal("/v1/chat/completions", sent.Path);
        Assert.Equal("llama3", (string?)sent.Body!["model"]);
        var first = sent.Body["messages"]![0]!;
        Assert.Contains((string?)first["role"], new[] { "system", "developer" });
        Assert.Equal("You are Ada, a retired lighthouse keeper.", ContentText(first));
        Assert.Equal("user", (string?)sent.Body["messages"]![1]!["role"]);
        Assert.Equal(0.3, (double)sent.Body["temperature"]!, 3);
        Assert.Equal(256, (int)(sent.Body["max_completion_tokens"] ?? sent.Body["max_tokens"])!);
        Assert.Equal("Bearer no-key-required", sent.Headers["authorization"]);

        Assert.Equal("I am Ada, a retired lighthouse keeper.", response.Text);
        Assert.Equal(12, response.Usage?.InputTokenCount);
        Assert.Equal(5, response.Usage?.OutputTokenCount);
        var record = Assert.Single(recorder.Records);
        Assert.Equal(("agent-answer", 12L, 5L, true, false), (record.Stage, record.InputTokens, record.OutputTokens, record.Succeeded, record.CacheHit));
    }

    [Fact]
    public async Task A_429_with_retry_after_is_retried_after_the_requested_wait()
    {
        await using var server = await StubServer.StartAsync((request, context) => request.Index == 1
            ? StubServer.WriteJsonAsync(context, 429, """{"error":{"message":"Rate limit reached","type":"requests"}}""", ("Retry-After", "1"))
            : StubServer.WriteJsonAsync(context, 200, Completion));
        var time = TestTimeProvider.Instant();
        var client = Pipeline(new ListRecorder(), time, new ModelPipelineOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(20) })
            .GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var response = await client.GetResponseAsync(PersonaConversation);

        Assert.Equal("I am Ada, a retired lighthouse keeper.", response.Text);
        Assert.Equal(2, server.Count);
        Assert.Contains(TimeSpan.FromSeconds(1), time.RequestedDelays);
    }

    [Fact]
    public async Task A_500_is_retried_and_the_second_answer_returned()
    {
        await using var server = await StubServer.StartAsync((request, context) => request.Index == 1
            ? StubServer.WriteJsonAsync(context, 500, """{"error":{"message":"internal error"}}""")
            : StubServer.WriteJsonAsync(context, 200, Completion));
        var time = TestTimeProvider.Instant();
        var client = Pipeline(new ListRecorder(), time).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var response = await client.GetResponseAsync(PersonaConversation);

        Assert.Equal("I am Ada, a retired lighthouse keeper.", response.Text);
        Assert.Equal(2, server.Count);
        Assert.Single(time.RequestedDelays);
    }

    [Fact]
    public async Task A_400_fails_at_once_naming_the_model()
    {
        await using var server = await StubServer.StartAsync((_, context) =>
            StubServer.WriteJsonAsync(context, 400, """{"error":{"message":"max_tokens is too large","type":"invalid_request_error"}}"""));
        var recorder = new ListRecorder();
        var client = Pipeline(recorder, TestTimeProvider.Instant()).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => client.GetResponseAsync(PersonaConversation));

        Assert.Equal(1, server.Count);
        Assert.Equal((400, ModelFailureKind.Rejected, false), (failure.StatusCode, failure.Kind, failure.IsTransient));
        Assert.Contains($"openai:llama3@{server.BaseAddress}v1", failure.Message);
        Assert.Contains("max_tokens is too large", failure.Message);
        var record = Assert.Single(recorder.Records);
        Assert.False(record.Succeeded);
        Assert.Equal(failure.Message, record.Error);
    }

    [Fact]
    public async Task A_streamed_answer_arrives_in_pieces_and_is_recorded_once_with_its_usage()
    {
        await using var server = await StubServer.StartAsync(async (_, context) =>
        {
            context.Response.ContentType = "text/event-stream";
            foreach (var chunk in (string[])[
                """{"id":"c","object":"chat.completion.chunk","created":1700000000,"model":"llama3","choices":[{"index":0,"delta":{"role":"assistant","content":"I am "},"finish_reason":null}]}""",
                """{"id":"c","object":"chat.completion.chunk","created":1700000000,"model":"llama3","choices":[{"index":0,"delta":{"content":"Ada."},"finish_reason":"stop"}]}""",
                """{"id":"c","object":"chat.completion.chunk","created":1700000000,"model":"llama3","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}""",
                "[DONE]"])
            {
                await context.Response.WriteAsync($"data: {chunk}\n\n");
            }
        });
        var recorder = new ListRecorder();
        var client = Pipeline(recorder, TestTimeProvider.Instant()).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var text = new System.Text.StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(PersonaConversation, new ChatOptions().WithStage("agent-answer")))
            text.Append(update.Text);

        Assert.Equal("I am Ada.", text.ToString());
        var record = Assert.Single(recorder.Records);
        Assert.True(record.Succeeded);
        Assert.Equal(("agent-answer", 12L, 3L), (record.Stage, record.InputTokens, record.OutputTokens));
    }

    [Fact]
    public async Task A_stream_the_provider_rejects_fails_naming_the_model_and_is_recorded_as_failed()
    {
        await using var server = await StubServer.StartAsync((_, context) =>
            StubServer.WriteJsonAsync(context, 400, """{"error":{"message":"stream is not allowed","type":"invalid_request_error"}}"""));
        var recorder = new ListRecorder();
        var client = Pipeline(recorder, TestTimeProvider.Instant()).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var failure = await Assert.ThrowsAsync<ModelCallException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(PersonaConversation)) { }
        });

        Assert.Equal((400, ModelFailureKind.Rejected), (failure.StatusCode, failure.Kind));
        Assert.Contains("stream is not allowed", failure.Message);
        var record = Assert.Single(recorder.Records);
        Assert.False(record.Succeeded);
        Assert.Equal(failure.Message, record.Error);
    }

    [Fact]
    public async Task The_key_never_appears_in_the_failure_even_when_the_provider_echoes_it()
    {
        await using var server = await StubServer.StartAsync((request, context) => StubServer.WriteJsonAsync(context, 401,
            "{\"error\":{\"message\":\"Incorrect API key provided: " + request.Headers["authorization"]["Bearer ".Length..] + "\",\"type\":\"invalid_request_error\"}}"));
        var client = Pipeline(new ListRecorder(), TestTimeProvider.Instant(), configuration: ("PersonaGym:Providers:openai-compatible:ApiKey", TestModels.OpenAIKey))
            .GetChatClient($"openai:gpt-4o-mini@{server.BaseAddress}v1");

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => client.GetResponseAsync(PersonaConversation));

        Assert.Equal($"Bearer {TestModels.OpenAIKey}", server.Requests.Single().Headers["authorization"]);
        Assert.Equal(401, failure.StatusCode);
        Assert.DoesNotContain("SECRET", failure.ToString());
        Assert.DoesNotContain(TestModels.OpenAIKey, failure.ToString());
    }

    [Fact]
    public async Task Transient_failures_stop_after_the_configured_attempts()
    {
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 503, """{"error":{"message":"overloaded"}}"""));
        var client = Pipeline(new ListRecorder(), TestTimeProvider.Instant(), TestModels.FastOptions(maxAttempts: 3)).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => client.GetResponseAsync(PersonaConversation));

        Assert.Equal(3, server.Count);
        Assert.Equal((503, 3, ModelFailureKind.ServerError), (failure.StatusCode, failure.Attempts, failure.Kind));
    }

    // HTTP 200 bodies that hold no completion: a gateway's error page, JSON cut short, an object without choices, a
    // bare null. They are no reply of the model, so they are retried like a 5xx, never handed on or recorded as answers.
    public static TheoryData<string> UnreadableBodies => new()
    {
        "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>",
        Completion[..(Completion.Length / 2)],
        """{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"llama3","choices":[]}""",
        """{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"llama3"}""",
        "null",
        "",
    };

    [Theory]
    [MemberData(nameof(UnreadableBodies))]
    public async Task A_200_whose_body_holds_no_completion_is_retried_and_the_next_answer_returned(string body)
    {
        await using var server = await StubServer.StartAsync((request, context) =>
            StubServer.WriteJsonAsync(context, 200, request.Index == 1 ? body : Completion));
        var recorder = new ListRecorder();
        var time = TestTimeProvider.Instant();
        var client = Pipeline(recorder, time).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var response = await client.GetResponseAsync(PersonaConversation);

        Assert.Equal("I am Ada, a retired lighthouse keeper.", response.Text);
        Assert.Equal(2, server.Count);
        Assert.Single(time.RequestedDelays);
        var record = Assert.Single(recorder.Records);
        Assert.True(record.Succeeded);
    }

    [Fact]
    public async Task A_200_that_never_holds_a_completion_fails_as_an_unreadable_response_naming_the_model_after_the_configured_attempts()
    {
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200, "<html><body>502 Bad Gateway</body></html>"));
        var recorder = new ListRecorder();
        var client = Pipeline(recorder, TestTimeProvider.Instant(), TestModels.FastOptions(maxAttempts: 3)).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => client.GetResponseAsync(PersonaConversation));

        Assert.Equal(3, server.Count);
        Assert.Equal((200, 3, ModelFailureKind.UnreadableResponse, true), (failure.StatusCode, failure.Attempts, failure.Kind, failure.IsTransient));
        Assert.Contains($"openai:llama3@{server.BaseAddress}v1", failure.Message);
        Assert.Contains("no readable completion", failure.Message);
        Assert.False(Assert.Single(recorder.Records).Succeeded);
    }

    [Fact]
    public async Task A_200_with_empty_content_is_the_models_reply_and_is_handed_on_unchanged()
    {
        // Empty text is a completion (paid for, and the method re-asks with a reason), not a transport fault.
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200,
            Completion.Replace("I am Ada, a retired lighthouse keeper.", "", StringComparison.Ordinal)));
        var recorder = new ListRecorder();
        var client = Pipeline(recorder, TestTimeProvider.Instant()).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var response = await client.GetResponseAsync(PersonaConversation);

        Assert.Equal("", response.Text);
        Assert.Equal(1, server.Count);
        Assert.True(Assert.Single(recorder.Records).Succeeded);
    }

    [Fact]
    public async Task An_attempt_that_exceeds_the_timeout_is_retried_then_reported_as_a_timeout()
    {
        await using var server = await StubServer.StartAsync(async (_, context) => await Task.Delay(Timeout.Infinite, context.RequestAborted));
        var options = TestModels.FastOptions(maxAttempts: 2);
        options.Timeout = TimeSpan.FromMilliseconds(300);
        var client = Pipeline(new ListRecorder(), TestTimeProvider.Instant(), options).GetChatClient($"openai:llama3@{server.BaseAddress}v1");

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => client.GetResponseAsync(PersonaConversation));

        Assert.Equal(ModelFailureKind.Timeout, failure.Kind);
        Assert.Equal(2, server.Count);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_retried()
    {
        await using var server = await StubServer.StartAsync(async (_, context) => await Task.Delay(Timeout.Infinite, context.RequestAborted));
        var recorder = new ListRecorder();
        var client = Pipeline(recorder, TestTimeProvider.Instant()).GetChatClient($"openai:llama3@{server.BaseAddress}v1");
        using var cancel = new CancellationTokenSource();

        var call = client.GetResponseAsync(PersonaConversation, cancellationToken: cancel.Token);
        await TestModels.WaitUntilAsync(() => server.Count == 1, "the request arrived");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, server.Count);
        Assert.Equal("cancelled", Assert.Single(recorder.Records).Error);
    }

    [Fact]
    public async Task Azure_openai_calls_the_deployment_with_the_api_key_header()
    {
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200, Completion));
        var client = Pipeline(new ListRecorder(), TestTimeProvider.Instant(), configuration: ("PersonaGym:Providers:azure-openai:ApiKey", "azure-key-SECRET"))
            .GetChatClient($"azure-openai:persona-gpt@{server.BaseAddress}");

        var response = await client.GetResponseAsync(PersonaConversation);

        var sent = Assert.Single(server.Requests);
        Assert.StartsWith("/openai/deployments/persona-gpt/chat/completions", sent.Path);
        Assert.Equal("azure-key-SECRET", sent.Headers["api-key"]);
        Assert.Equal("system", (string?)sent.Body!["messages"]![0]!["role"]);
        Assert.Equal("I am Ada, a retired lighthouse keeper.", response.Text);
    }

    private static string? ContentText(System.Text.Json.Nodes.JsonNode message) =>
        message["content"] is System.Text.Json.Nodes.JsonArray parts ? (string?)parts[0]!["text"] : (string?)message["content"];
}
