using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using PersonaGym.Core.Offline;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// Every model of a run behind a real OpenAI-compatible HTTP server on loopback that fails 30 % of calls (500s, 429s
/// with Retry-After, attempts that time out) and otherwise answers as the offline model would: the run completes, and
/// its scores are exactly those of the same run against the offline models directly.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class FlakyProviderTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_provider_failing_30_percent_of_calls_costs_retries_only_and_the_run_scores_exactly_as_without_failures()
    {
        await using var provider = FlakyOpenAiServer.Start();
        var settings = new Dictionary<string, string?>
        {
            ["PersonaGym:Endpoints:Allowed:0:Url"] = provider.BaseAddress.ToString(),
            ["PersonaGym:Models:MaxAttempts"] = "12",
            ["PersonaGym:Models:Timeout"] = "00:00:00.500",
            // Retries are what is tested here, not how concurrency adapts to 429s (AdaptiveConcurrencyTests).
            ["PersonaGym:Models:AdaptiveConcurrency"] = "false",
            ["PersonaGym:Models:MaxConcurrency"] = "16",
        };
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { Settings = settings });

        RunRequest Request(Func<string, string> spec) => TestRuns.Request(personas: 1, agents: 1, judges: 2, questionsPerTask: 2) with
        {
            Agents = [spec("agent-a")],
            Judges = [spec("judge-a"), spec("judge-b")],
            QuestionWriter = spec("question-writer"),
            ExemplarWriter = spec("exemplar-writer"),
        };
        var flaky = Request(name => $"openai:{name}@{provider.BaseAddress}");
        var direct = Request(name => $"offline:{name}");

        var flakyRun = await pipeline.SubmitAsync(flaky);
        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(flakyRun));
        var directRun = await pipeline.SubmitAsync(direct);
        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(directRun));

        // The failures happened, and were retried: about 30 % of what the provider was sent failed.
        Assert.True(provider.Failed >= provider.Requests * 0.25, $"{provider.Failed} of {provider.Requests} requests failed");
        Assert.True(provider.TimedOut > 0 && provider.Throttled > 0 && provider.ServerErrors > 0);
        // Every answered call is recorded once as a paid call; nothing is paid twice, nothing stored twice.
        Assert.Equal(provider.Answered, await pipeline.PaidCallsAsync(flakyRun));
        Assert.Equal(TestRuns.Expected(flaky), await pipeline.CountRowsAsync(flakyRun));
        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, flakyRun, expectedScores: 1);

        await using var db = pipeline.NewContext();
        var scores = await TestRuns.PersonaScoresByHandAsync(db, flakyRun);
        var reference = await TestRuns.PersonaScoresByHandAsync(db, directRun);
        Assert.Equal(reference.Values.Single(), scores.Values.Single());
        Assert.NotNull(scores.Values.Single());
    }
}

/// <summary>
/// An OpenAI-compatible chat completions server on 127.0.0.1 whose model is the offline model named in the request;
/// calls 1, 4 and 7 of every ten fail: 500, 429 with Retry-After, or (every twentieth) an answer too slow for the
/// caller's attempt timeout.
/// </summary>
public sealed class FlakyOpenAiServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private int _requests, _answered, _serverErrors, _throttled, _timedOut;

    private FlakyOpenAiServer(int port)
    {
        BaseAddress = new Uri($"http://127.0.0.1:{port}/v1/");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    public Uri BaseAddress { get; }

    public int Requests => Volatile.Read(ref _requests);
    public int Answered => Volatile.Read(ref _answered);
    public int ServerErrors => Volatile.Read(ref _serverErrors);
    public int Throttled => Volatile.Read(ref _throttled);
    public int TimedOut => Volatile.Read(ref _timedOut);
    public int Failed => ServerErrors + Throttled + TimedOut;

    public static FlakyOpenAiServer Start()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new FlakyOpenAiServer(port);
    }

    private async Task AcceptAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = JsonNode.Parse(await reader.ReadToEndAsync())!;
            var n = Interlocked.Increment(ref _requests);
            switch (n % 10)
            {
                case 1:
                    Interlocked.Increment(ref _serverErrors);
                    await WriteAsync(context, 500, """{"error":{"message":"internal error","type":"server_error"}}""");
                    return;
                case 4:
                    Interlocked.Increment(ref _throttled);
                    context.Response.Headers["Retry-After"] = "0";
                    await WriteAsync(context, 429, """{"error":{"message":"rate limit reached","type":"rate_limit_error"}}""");
                    return;
                case 7 when n % 20 == 7:
                    Interlocked.Increment(ref _timedOut);
                    await Task.Delay(TimeSpan.FromSeconds(1.5));
                    context.Response.Abort();
                    return;
                case 7:
                    Interlocked.Increment(ref _serverErrors);
                    await WriteAsync(context, 503, """{"error":{"message":"overloaded","type":"server_error"}}""");
                    return;
            }

            var model = (string)body["model"]!;
            var messages = body["messages"]!.AsArray().Select(m => new ChatMessage(
                new ChatRole((string)m!["role"]!),
                m["content"] is JsonArray parts ? string.Concat(parts.Select(p => (string?)p!["text"])) : (string?)m["content"])).ToList();
            var reply = await new OfflineChatClient(model).GetResponseAsync(messages);
            Interlocked.Increment(ref _answered);
            await WriteAsync(context, 200, JsonSerializer.Serialize(new
            {
                id = $"chatcmpl-{n}", @object = "chat.completion", created = 1700000000, model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = reply.Text }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 100, completion_tokens = 20, total_tokens = 120 },
            }));
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The caller gave up on this attempt (its timeout); nothing to answer.
        }
    }

    private static async Task WriteAsync(HttpListenerContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
