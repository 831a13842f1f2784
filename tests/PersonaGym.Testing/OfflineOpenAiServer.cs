using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using PersonaGym.Core.Offline;

namespace PersonaGym.Testing;

/// <summary>What the server does with one request instead of answering it.</summary>
public enum ProviderFault
{
    None,
    /// <summary>500.</summary>
    ServerError,
    /// <summary>503, "overloaded".</summary>
    Overloaded,
    /// <summary>429 with <c>Retry-After: 0</c>.</summary>
    Throttled,
    /// <summary>No answer for 1.5 s, then the connection is dropped: slower than a caller's attempt timeout.</summary>
    TooSlow,
}

/// <summary>
/// An OpenAI-compatible chat completions server on 127.0.0.1 whose model is the offline model named in the request,
/// so a run against it scores exactly as against the offline models. It counts what it is sent: every request that
/// reached it, and every request it answered (a caller killed mid-call leaves a request that was never answered).
/// An optional fault plan, given each request's number (from 1), fails chosen requests instead of answering them.
/// </summary>
public sealed class OfflineOpenAiServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<int, ProviderFault> _faults;
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, ModelCounts> _byModel = new(StringComparer.Ordinal);
    private int _requests, _answered, _serverErrors, _throttled, _timedOut;

    private sealed class ModelCounts
    {
        public int Requests;
        public int Answered;
    }

    private OfflineOpenAiServer(int port, Func<int, ProviderFault> faults)
    {
        _faults = faults;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/v1/");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    /// <summary>The base URL to name in a spec: <c>openai:&lt;offline model&gt;@{BaseAddress}</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Chat completion requests received (read in full), answered or not.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests answered with a completion (written in full to a caller still listening).</summary>
    public int Answered => Volatile.Read(ref _answered);

    /// <summary>Requests received that named one of <paramref name="models"/> (the request's <c>model</c>, the spec's name).</summary>
    public int RequestsFor(IEnumerable<string> models) => models.Distinct().Sum(m => _byModel.TryGetValue(m, out var c) ? Volatile.Read(ref c.Requests) : 0);

    /// <summary>Requests answered that named one of <paramref name="models"/>.</summary>
    public int AnsweredFor(IEnumerable<string> models) => models.Distinct().Sum(m => _byModel.TryGetValue(m, out var c) ? Volatile.Read(ref c.Answered) : 0);

    public int ServerErrors => Volatile.Read(ref _serverErrors);
    public int Throttled => Volatile.Read(ref _throttled);
    public int TimedOut => Volatile.Read(ref _timedOut);
    public int Failed => ServerErrors + Throttled + TimedOut;

    /// <summary>Starts a server on a free loopback port; without <paramref name="faults"/> it answers every request.</summary>
    public static OfflineOpenAiServer Start(Func<int, ProviderFault>? faults = null)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new OfflineOpenAiServer(port, faults ?? (_ => ProviderFault.None));
    }

    /// <summary>The spec of the offline model <paramref name="model"/> served here.</summary>
    public string Spec(string model) => $"openai:{model}@{BaseAddress}";

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
            var model = (string)body["model"]!;
            var counts = _byModel.GetOrAdd(model, _ => new ModelCounts());
            Interlocked.Increment(ref counts.Requests);
            var n = Interlocked.Increment(ref _requests);
            switch (_faults(n))
            {
                case ProviderFault.ServerError:
                    Interlocked.Increment(ref _serverErrors);
                    await WriteAsync(context, 500, """{"error":{"message":"internal error","type":"server_error"}}""");
                    return;
                case ProviderFault.Overloaded:
                    Interlocked.Increment(ref _serverErrors);
                    await WriteAsync(context, 503, """{"error":{"message":"overloaded","type":"server_error"}}""");
                    return;
                case ProviderFault.Throttled:
                    Interlocked.Increment(ref _throttled);
                    context.Response.Headers["Retry-After"] = "0";
                    await WriteAsync(context, 429, """{"error":{"message":"rate limit reached","type":"rate_limit_error"}}""");
                    return;
                case ProviderFault.TooSlow:
                    Interlocked.Increment(ref _timedOut);
                    await Task.Delay(TimeSpan.FromSeconds(1.5));
                    context.Response.Abort();
                    return;
            }

            var messages = body["messages"]!.AsArray().Select(m => new ChatMessage(
                new ChatRole((string)m!["role"]!),
                m["content"] is JsonArray parts ? string.Concat(parts.Select(p => (string?)p!["text"])) : (string?)m["content"])).ToList();
            var reply = await new OfflineChatClient(model).GetResponseAsync(messages);
            await WriteAsync(context, 200, JsonSerializer.Serialize(new
            {
                id = $"chatcmpl-{n}", @object = "chat.completion", created = 1700000000, model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = reply.Text }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 100, completion_tokens = 20, total_tokens = 120 },
            }));
            Interlocked.Increment(ref counts.Answered);
            Interlocked.Increment(ref _answered);
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The caller is gone (its attempt timed out, or its process was killed); nothing to answer.
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
