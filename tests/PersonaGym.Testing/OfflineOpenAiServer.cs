using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using PersonaGym.Core.Offline;

namespace PersonaGym.Testing;

/// <summary>What the server does with one request instead of answering it well.</summary>
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

    // HTTP 200 with a completion whose text is unusable: the model's reply, paid for, that no stage can use.

    /// <summary>200, a completion whose content is the empty string (finish reason "stop").</summary>
    EmptyContent,
    /// <summary>200, a completion whose content is only spaces, tabs, line breaks and no-break spaces.</summary>
    WhitespaceContent,
    /// <summary>200, a completion whose content is only invisible format characters (zero-width space, word joiner, byte-order mark).</summary>
    InvisibleContent,
    /// <summary>
    /// 200, the offline model's reply cut just before its last final-score statement (at its middle when it has none),
    /// with finish reason "stop": the provider does not say it was cut, and all but the last item of a judge's reply survive.
    /// </summary>
    TruncatedContent,
    /// <summary>200, the reply's opening up to its first final-score statement, then mojibake: nothing in it reads as a score.</summary>
    GarbledContent,

    // HTTP 200 whose body is no completion at all.

    /// <summary>200, a completion's JSON cut in half: not valid JSON.</summary>
    NotJson,
    /// <summary>200, a gateway's HTML error page (text/html).</summary>
    HtmlPage,
    /// <summary>200, a well-formed completion object whose <c>choices</c> list is empty.</summary>
    NoChoices,
}

/// <summary>One request as a fault plan sees it: its number (from 1), the model it names, and its messages.</summary>
public sealed record ProviderRequest(int Number, string Model, IReadOnlyList<ChatMessage> Messages)
{
    /// <summary>The stage's prompt: the conversation's first user message.</summary>
    public string Prompt => Messages.FirstOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";

    /// <summary>A re-ask or follow-up: the conversation already holds a reply of the model.</summary>
    public bool IsReAsk => Messages.Any(m => m.Role == ChatRole.Assistant);
}

/// <summary>
/// An OpenAI-compatible chat completions server on 127.0.0.1 whose model is the offline model named in the request,
/// so a run against it scores exactly as against the offline models. It counts what it is sent: every request that
/// reached it, and every request it answered (a caller killed mid-call leaves a request that was never answered).
/// An optional fault plan, given each request (its number from 1, model and messages), fails chosen requests instead of
/// answering them, or answers them with unusable text or a body that is no completion.
/// </summary>
public sealed class OfflineOpenAiServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<ProviderRequest, ProviderFault> _faults;
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, ModelCounts> _byModel = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ProviderFault, int> _byFault = new();
    private int _requests, _answered, _serverErrors, _throttled, _timedOut, _unusable, _malformed;

    private sealed class ModelCounts
    {
        public int Requests;
        public int Answered;

        /// <summary>The distinct requests (their messages) received: a set, the value unused.</summary>
        public readonly ConcurrentDictionary<string, byte> Distinct = new(StringComparer.Ordinal);
    }

    private OfflineOpenAiServer(int port, Func<ProviderRequest, ProviderFault> faults)
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

    /// <summary>Requests answered with a completion (written in full to a caller still listening), unusable text included.</summary>
    public int Answered => Volatile.Read(ref _answered);

    /// <summary>Requests received that named one of <paramref name="models"/> (the request's <c>model</c>, the spec's name).</summary>
    public int RequestsFor(IEnumerable<string> models) => models.Distinct().Sum(m => _byModel.TryGetValue(m, out var c) ? Volatile.Read(ref c.Requests) : 0);

    /// <summary>
    /// Per model named: requests received, distinct requests among them (same messages), and requests answered. Says
    /// where extra requests went: a request sent again has a distinct count below its requests.
    /// </summary>
    public string Breakdown(IEnumerable<string> models) => string.Join("; ", models.Distinct().Select(m =>
        _byModel.TryGetValue(m, out var c)
            ? $"{m}: {Volatile.Read(ref c.Requests)} sent, {c.Distinct.Count} distinct, {Volatile.Read(ref c.Answered)} answered"
            : $"{m}: none"));

    /// <summary>Requests answered that named one of <paramref name="models"/>.</summary>
    public int AnsweredFor(IEnumerable<string> models) => models.Distinct().Sum(m => _byModel.TryGetValue(m, out var c) ? Volatile.Read(ref c.Answered) : 0);

    public int ServerErrors => Volatile.Read(ref _serverErrors);
    public int Throttled => Volatile.Read(ref _throttled);
    public int TimedOut => Volatile.Read(ref _timedOut);

    /// <summary>Completions answered with unusable text (empty, blank, invisible, truncated, garbled): counted in <see cref="Answered"/> too.</summary>
    public int UnusableContent => Volatile.Read(ref _unusable);

    /// <summary>HTTP 200 answers whose body is no completion (not JSON, an HTML page, no choices).</summary>
    public int Malformed => Volatile.Read(ref _malformed);

    /// <summary>Requests the fault plan gave <paramref name="fault"/>.</summary>
    public int Count(ProviderFault fault) => _byFault.GetValueOrDefault(fault);

    /// <summary>Requests not answered with a completion.</summary>
    public int Failed => ServerErrors + Throttled + TimedOut + Malformed;

    /// <summary>Starts a server on a free loopback port; without <paramref name="faults"/> it answers every request.</summary>
    public static OfflineOpenAiServer Start(Func<int, ProviderFault>? faults = null) =>
        Start(faults is null ? null : request => faults(request.Number));

    /// <summary>Starts a server whose fault plan sees each request's model and messages too.</summary>
    public static OfflineOpenAiServer Start(Func<ProviderRequest, ProviderFault>? faults)
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
            var messages = body["messages"]!.AsArray().Select(m => new ChatMessage(
                new ChatRole((string)m!["role"]!),
                m["content"] is JsonArray parts ? string.Concat(parts.Select(p => (string?)p!["text"])) : (string?)m["content"])).ToList();
            counts.Distinct.TryAdd(body["messages"]!.ToJsonString(), 0);
            var fault = _faults(new ProviderRequest(n, model, messages));
            _byFault.AddOrUpdate(fault, 1, (_, count) => count + 1);
            switch (fault)
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
                case ProviderFault.HtmlPage:
                    Interlocked.Increment(ref _malformed);
                    await WriteAsync(context, 200, "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>", "text/html");
                    return;
            }

            var reply = (await new OfflineChatClient(model).GetResponseAsync(messages)).Text;
            var content = fault switch
            {
                ProviderFault.EmptyContent => "",
                ProviderFault.WhitespaceContent => " \n\t\u00A0 \r\n ",
                ProviderFault.InvisibleContent => "\u200B\u2060\uFEFF\u200B",
                ProviderFault.TruncatedContent => Truncate(reply),
                ProviderFault.GarbledContent => Garble(reply),
                _ => reply,
            };
            var completion = JsonSerializer.Serialize(new
            {
                id = $"chatcmpl-{n}", @object = "chat.completion", created = 1700000000, model,
                choices = fault == ProviderFault.NoChoices
                    ? []
                    : new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 100, completion_tokens = 20, total_tokens = 120 },
            });
            if (fault is ProviderFault.NotJson or ProviderFault.NoChoices)
            {
                Interlocked.Increment(ref _malformed);
                await WriteAsync(context, 200, fault == ProviderFault.NotJson ? completion[..(completion.Length / 2)] : completion);
                return;
            }

            await WriteAsync(context, 200, completion);
            if (fault != ProviderFault.None) Interlocked.Increment(ref _unusable);
            Interlocked.Increment(ref counts.Answered);
            Interlocked.Increment(ref _answered);
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The caller is gone (its attempt timed out, or its process was killed); nothing to answer.
        }
    }

    private static string Truncate(string reply)
    {
        var last = reply.LastIndexOf("Therefore", StringComparison.Ordinal);
        return last >= 0 ? reply[..last] : reply[..(reply.Length / 2)];
    }

    /// <summary>
    /// The reply's opening, up to its first final-score statement (or its first third), then the mojibake of a broken
    /// decoder: a judge's item headers may survive, a score never does.
    /// </summary>
    private static string Garble(string reply)
    {
        var statement = reply.IndexOf("Therefore", StringComparison.Ordinal);
        var kept = statement >= 0 ? reply[..statement] : reply[..(reply.Length / 3)];
        return kept + string.Concat(Enumerable.Repeat("Ã¢â‚¬â„¢Ã¯Â¿Â½ Ã‚Â·Ã¢â‚¬Å“ ", 6)).TrimEnd();
    }

    private static async Task WriteAsync(HttpListenerContext context, int status, string text, string contentType = "application/json")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(text);
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
