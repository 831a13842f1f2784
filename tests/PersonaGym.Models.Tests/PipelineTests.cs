using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using PersonaGym.Models.Tests.Support;

namespace PersonaGym.Models.Tests;

public class PipelineTests
{
    private const string Completion = """
        {"id":"c","object":"chat.completion","created":1700000000,"model":"m",
         "choices":[{"index":0,"message":{"role":"assistant","content":"answer"},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}
        """;

    private static ChatResponse Answer(string text, long tokens = 5) =>
        new(new ChatMessage(ChatRole.Assistant, text)) { Usage = new UsageDetails { InputTokenCount = tokens - 1, OutputTokenCount = 1, TotalTokenCount = tokens } };

    [Fact]
    public async Task A_repeated_call_is_served_from_the_cache_without_a_request_and_recorded_as_a_hit()
    {
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200, Completion));
        var recorder = new ListRecorder();
        var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration()), TestModels.FastOptions(), TestModels.MemoryCache(), recorder, null, TestTimeProvider.Instant());
        var client = pipeline.GetChatClient($"openai:m@{server.BaseAddress}v1");

        var first = await client.GetResponseAsync("Describe your morning.", new ChatOptions { Temperature = 0 }.WithStage("agent-answer"));
        var second = await client.GetResponseAsync("Describe your morning.", new ChatOptions { Temperature = 0 }.WithStage("agent-answer"));

        Assert.Equal(1, server.Count);
        Assert.Equal(first.Text, second.Text);
        var records = recorder.Records.ToArray();
        Assert.Equal([false, true], records.Select(r => r.CacheHit));
        Assert.All(records, r => Assert.Equal("agent-answer", r.Stage));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n ")]
    [InlineData("\u200B\uFEFF")]
    public async Task A_blank_reply_is_not_stored_so_the_same_request_asks_the_provider_again(string blank)
    {
        var replies = new Queue<string>([blank, "I water the roses."]);
        var offline = new CallbackChatClient((_, _, _) => Task.FromResult(Answer(replies.Dequeue())));
        var recorder = new ListRecorder();
        var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration(), _ => offline), TestModels.FastOptions(),
            TestModels.MemoryCache(), recorder, null, TestTimeProvider.Instant());
        var client = pipeline.GetChatClient("offline:sim");

        var first = await client.GetResponseAsync("Describe your morning.", new ChatOptions { Temperature = 0 });
        var second = await client.GetResponseAsync("Describe your morning.", new ChatOptions { Temperature = 0 });
        var third = await client.GetResponseAsync("Describe your morning.", new ChatOptions { Temperature = 0 });

        Assert.Equal((blank, "I water the roses.", "I water the roses."), (first.Text, second.Text, third.Text));
        Assert.Equal(2, offline.Calls);
        Assert.Equal([false, false, true], recorder.Records.Select(r => r.CacheHit));
    }

    [Fact]
    public async Task Identical_calls_made_at_the_same_time_share_one_request_and_the_followers_are_hits()
    {
        var release = new TaskCompletionSource();
        var offline = new CallbackChatClient(async (_, _, _) => { await release.Task; return Answer("shared"); });
        var recorder = new ListRecorder();
        var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration(), _ => offline), TestModels.FastOptions(),
            TestModels.MemoryCache(), recorder, null, TestTimeProvider.Instant());
        var client = pipeline.GetChatClient("offline:sim");

        var calls = Enumerable.Range(0, 3).Select(_ => client.GetResponseAsync("q", new ChatOptions { Temperature = 0 })).ToList();
        while (offline.Calls == 0) await Task.Delay(5);
        release.SetResult();
        var responses = await Task.WhenAll(calls);

        Assert.Equal(1, offline.Calls);
        Assert.All(responses, r => Assert.Equal("shared", r.Text));
        Assert.Equal(2, recorder.Records.Count(r => r.CacheHit));
    }

    [Fact]
    public async Task Entries_stored_under_the_key_of_the_library_cache_client_are_found_and_new_entries_use_that_key()
    {
        // The key is computed once per call by PersonaGym's client; it must stay the key M.E.AI's own client computes,
        // or a stored cache (a re-run, a resume) would be missed after an upgrade.
        var spec = ModelSpec.Parse("offline:sim");
        var store = TestModels.MemoryCache();
        var library = new DistributedCachingChatClient(new CallbackChatClient((_, _, _) => Task.FromResult(Answer("stored"))), store)
        {
            CacheKeyAdditionalValues = ["personagym-model", spec.Text],
        };
        await library.GetResponseAsync("q", new ChatOptions { Temperature = 0 });

        var offline = new CallbackChatClient((_, _, _) => Task.FromResult(Answer("fresh")));
        var ours = new ModelResponseCachingChatClient(offline, store, spec);
        var hit = await ours.GetResponseAsync("q", new ChatOptions { Temperature = 0 }.WithStage("judge"));
        Assert.Equal(("stored", 0), (hit.Text, offline.Calls));
        Assert.Equal(true, hit.AdditionalProperties?[PersonaGymChatProperties.CacheHit]);

        await ours.GetResponseAsync("other", new ChatOptions { Temperature = 0 });
        var libraryMiss = new CallbackChatClient((_, _, _) => Task.FromResult(Answer("library")));
        var reread = new DistributedCachingChatClient(libraryMiss, store) { CacheKeyAdditionalValues = ["personagym-model", spec.Text] };
        Assert.Equal("fresh", (await reread.GetResponseAsync("other", new ChatOptions { Temperature = 0 })).Text);
        Assert.Equal((1, 0), (offline.Calls, libraryMiss.Calls));
    }

    [Fact]
    public async Task The_stage_tag_does_not_split_cache_entries_but_other_options_do()
    {
        var offline = new CallbackChatClient((_, _, _) => Task.FromResult(Answer("same")));
        var pipeline = Offline(offline, TestModels.MemoryCache());
        var client = pipeline.GetChatClient("offline:sim");

        await client.GetResponseAsync("q", new ChatOptions { Temperature = 0 }.WithStage("judge"));
        await client.GetResponseAsync("q", new ChatOptions { Temperature = 0 }.WithStage("judge-rerun"));
        await client.GetResponseAsync("q", new ChatOptions { Temperature = 1 }.WithStage("judge"));

        Assert.Equal(2, offline.Calls);
    }

    [Fact]
    public async Task Two_models_never_share_cache_entries()
    {
        var cache = TestModels.MemoryCache();
        var a = new CallbackChatClient((_, _, _) => Task.FromResult(Answer("from a")));
        var b = new CallbackChatClient((_, _, _) => Task.FromResult(Answer("from b")));
        var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration(), name => name == "a" ? a : b), TestModels.FastOptions(), cache, new ListRecorder(), null, TestTimeProvider.Instant());

        var fromA = await pipeline.GetChatClient("offline:a").GetResponseAsync("same prompt");
        var fromB = await pipeline.GetChatClient("offline:b").GetResponseAsync("same prompt");

        Assert.Equal(("from a", "from b"), (fromA.Text, fromB.Text));
        Assert.Equal((1, 1), (a.Calls, b.Calls));
    }

    [Fact]
    public async Task Concurrent_calls_to_one_model_never_exceed_its_limit()
    {
        var gate = new SemaphoreSlim(0);
        await using var server = await StubServer.StartAsync(async (_, context) =>
        {
            await gate.WaitAsync(context.RequestAborted);
            await StubServer.WriteJsonAsync(context, 200, Completion);
        });
        var options = TestModels.FastOptions();
        options.MaxConcurrency = 2;
        var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration()), options, null, new ListRecorder(), null, TestTimeProvider.Instant());
        var client = pipeline.GetChatClient($"openai:m@{server.BaseAddress}v1");

        var calls = Enumerable.Range(0, 5).Select(i => client.GetResponseAsync($"question {i}")).ToArray();
        for (var released = 0; released < 5; released++)
        {
            var expected = Math.Min(2, 5 - released);
            await TestModels.WaitUntilAsync(() => server.InFlight == expected, $"{expected} requests are in flight");
            gate.Release();
            await TestModels.WaitUntilAsync(() => calls.Count(c => c.IsCompleted) == released + 1, $"{released + 1} calls completed");
        }

        await Task.WhenAll(calls);
        Assert.Equal(5, server.Count);
        Assert.Equal(2, server.MaxInFlight);
    }

    [Fact]
    public async Task Requests_over_the_per_minute_limit_wait_for_the_window_to_move()
    {
        var offline = new CallbackChatClient((_, _, _) => Task.FromResult(Answer("ok")));
        var time = TestTimeProvider.Manual();
        var options = TestModels.FastOptions();
        options.RequestsPerMinute = 2;
        var client = Offline(offline, cache: null, options, time).GetChatClient("offline:sim");

        await client.GetResponseAsync("1");
        await client.GetResponseAsync("2");
        var third = client.GetResponseAsync("3");
        await TestModels.WaitUntilAsync(() => time.PendingTimers == 1, "the third call waits on the clock");

        Assert.False(third.IsCompleted);
        Assert.Equal(2, offline.Calls);
        time.Advance(TimeSpan.FromMinutes(1));
        await third;
        Assert.Equal(3, offline.Calls);
    }

    [Fact]
    public async Task Tokens_used_in_the_last_minute_hold_back_new_calls()
    {
        var offline = new CallbackChatClient((_, _, _) => Task.FromResult(Answer("long answer", tokens: 120)));
        var time = TestTimeProvider.Manual();
        var options = TestModels.FastOptions();
        options.TokensPerMinute = 100;
        var client = Offline(offline, cache: null, options, time).GetChatClient("offline:sim");

        await client.GetResponseAsync("1");
        var second = client.GetResponseAsync("2");
        await TestModels.WaitUntilAsync(() => time.PendingTimers == 1, "the second call waits on the clock");

        Assert.Equal(1, offline.Calls);
        time.Advance(TimeSpan.FromSeconds(61));
        await second;
        Assert.Equal(2, offline.Calls);
    }

    [Fact]
    public void Options_bind_from_configuration_with_per_provider_and_per_model_overrides()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PersonaGym:Models:MaxAttempts"] = "6",
            ["PersonaGym:Models:RequestsPerMinute"] = "500",
            ["PersonaGym:Models:Overrides:0:Model"] = "anthropic",
            ["PersonaGym:Models:Overrides:0:MaxConcurrency"] = "2",
            ["PersonaGym:Models:Overrides:1:Model"] = "anthropic:claude-3-5-haiku-latest",
            ["PersonaGym:Models:Overrides:1:Timeout"] = "00:00:20",
            ["PersonaGym:Models:Overrides:1:CacheEnabled"] = "false",
        }).Build();
        var options = configuration.GetSection(ModelPipelineOptions.SectionName).Get<ModelPipelineOptions>()!;

        var haiku = options.For(ModelSpec.Parse("anthropic:claude-3-5-haiku-latest"));
        var sonnet = options.For(ModelSpec.Parse("anthropic:claude-3-5-sonnet-latest"));
        var gpt = options.For(ModelSpec.Parse("openai:gpt-4o-mini"));

        Assert.Empty(options.Validate());
        Assert.Equal((6, 2, 500, TimeSpan.FromSeconds(20), false), (haiku.MaxAttempts, haiku.MaxConcurrency, haiku.RequestsPerMinute, haiku.Timeout, haiku.CacheEnabled));
        Assert.Equal((2, true), (sonnet.MaxConcurrency, sonnet.CacheEnabled));
        Assert.Null(gpt.MaxConcurrency);
    }

    [Fact]
    public void Invalid_options_are_reported()
    {
        var options = new ModelPipelineOptions { MaxAttempts = 0, Overrides = [new ModelPipelineOverride { Model = "gemini:pro" }] };

        var problems = options.Validate();

        Assert.Contains(problems, p => p.Contains("MaxAttempts"));
        Assert.Contains(problems, p => p.Contains("Overrides[0].Model"));
    }

    [Fact]
    public void Retry_after_accepts_seconds_and_http_dates()
    {
        var now = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

        Assert.True(RetryAfterHeader.TryParse("7", now, out var seconds));
        Assert.True(RetryAfterHeader.TryParse("Wed, 01 Jan 2025 12:00:30 GMT", now, out var date));
        Assert.False(RetryAfterHeader.TryParse("soon", now, out _));
        Assert.Equal((TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(30)), (seconds, date));
    }

    private static ModelPipelineFactory Offline(IChatClient offline, Microsoft.Extensions.Caching.Distributed.IDistributedCache? cache, ModelPipelineOptions? options = null, TimeProvider? time = null) =>
        new(TestModels.Clients(TestModels.Configuration(), _ => offline), options ?? TestModels.FastOptions(), cache, new ListRecorder(), null, time ?? TestTimeProvider.Instant());
}
