using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using PersonaGym.Cli.Commands;
using PersonaGym.Cli.Remote;

namespace PersonaGym.Cli.Tests;

/// <summary>The tests here set <c>PERSONAGYM_API_KEY</c>, which is the whole process's: nothing runs beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ApiKeyEnvironmentCollection
{
    public const string Name = "PERSONAGYM_API_KEY";
}

/// <summary>
/// <c>--server</c> with <c>--api-key</c> or <c>$PERSONAGYM_API_KEY</c>: what the CLI puts on the wire, seen by a loopback
/// server that records the <c>X-Api-Key</c> header of every request (the option wins over the variable; no key, no header).
/// </summary>
[Collection(ApiKeyEnvironmentCollection.Name)]
public sealed class ServerApiKeyTests : IDisposable
{
    private const string EnvironmentKey = "pgk_from-the-environment-variable-0123456789";
    private const string OptionKey = "pgk_from-the-command-line-option-9876543210";

    private readonly string? _previous = Environment.GetEnvironmentVariable(CommonOptions.ApiKeyEnvironmentVariable);

    [Fact]
    public async Task The_key_from_the_environment_variable_arrives_in_the_X_Api_Key_header()
    {
        Environment.SetEnvironmentVariable(CommonOptions.ApiKeyEnvironmentVariable, EnvironmentKey);

        var sent = await KeysSentByRunsListAsync();

        Assert.Equal([EnvironmentKey], sent);
    }

    [Fact]
    public async Task The_key_from_the_option_arrives_in_the_X_Api_Key_header_and_wins_over_the_environment_variable()
    {
        Environment.SetEnvironmentVariable(CommonOptions.ApiKeyEnvironmentVariable, EnvironmentKey);

        var sent = await KeysSentByRunsListAsync("--api-key", OptionKey);

        Assert.Equal([OptionKey], sent);
    }

    [Fact]
    public async Task The_key_from_the_option_arrives_without_the_environment_variable()
    {
        Environment.SetEnvironmentVariable(CommonOptions.ApiKeyEnvironmentVariable, null);

        var sent = await KeysSentByRunsListAsync("--api-key", OptionKey);

        Assert.Equal([OptionKey], sent);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Without_a_configured_key_no_X_Api_Key_header_is_sent(string? variable)
    {
        Environment.SetEnvironmentVariable(CommonOptions.ApiKeyEnvironmentVariable, variable);

        var sent = await KeysSentByRunsListAsync();

        Assert.Equal([null], sent);
    }

    public void Dispose() => Environment.SetEnvironmentVariable(CommonOptions.ApiKeyEnvironmentVariable, _previous);

    /// <summary>
    /// Runs <c>personagym runs --server URL ARGS</c> against a loopback server that answers an empty run list, and
    /// returns the <c>X-Api-Key</c> header of each request it received (null where there was none).
    /// </summary>
    private static async Task<IReadOnlyList<string?>> KeysSentByRunsListAsync(params string[] args)
    {
        var port = FreeLoopbackPort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = new ConcurrentQueue<string?>();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                received.Enqueue(context.Request.Headers[ServerClient.ApiKeyHeader]);
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync("[]"u8.ToArray());
                context.Response.Close();
            }
        });

        var result = await CliSession.InvokeAsync(["runs", "--server", $"http://127.0.0.1:{port}", .. args]);

        stop.Cancel();
        listener.Stop();
        await serving;
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Contains("No runs yet", result.Out);
        return received.ToList();
    }

    private static int FreeLoopbackPort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
