using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PersonaGym.Models.Tests.Support;

/// <summary>A request as the stub server received it.</summary>
public sealed record RecordedRequest(int Index, string Method, string Path, IReadOnlyDictionary<string, string> Headers, JsonNode? Body);

/// <summary>A real HTTP server on 127.0.0.1 (free port) that answers with a test's handler and records what it was sent.</summary>
public sealed class StubServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _count;
    private int _inFlight;
    private int _maxInFlight;

    private StubServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public int Count => Volatile.Read(ref _count);

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public static async Task<StubServer> StartAsync(Func<RecordedRequest, HttpContext, Task> handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new StubServer(app);
        app.Run(async context =>
        {
            var inFlight = Interlocked.Increment(ref server._inFlight);
            int max;
            while (inFlight > (max = Volatile.Read(ref server._maxInFlight)) && Interlocked.CompareExchange(ref server._maxInFlight, inFlight, max) != max)
            {
            }

            try
            {
                using var reader = new StreamReader(context.Request.Body);
                var text = await reader.ReadToEndAsync();
                var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
                var request = new RecordedRequest(Interlocked.Increment(ref server._count), context.Request.Method, context.Request.Path + context.Request.QueryString, headers,
                    string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text));
                server.Requests.Enqueue(request);
                await handler(request, context);
            }
            finally
            {
                Interlocked.Decrement(ref server._inFlight);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    public static async Task WriteJsonAsync(HttpContext context, int status, string json, params (string Name, string Value)[] headers)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        foreach (var (name, value) in headers)
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
