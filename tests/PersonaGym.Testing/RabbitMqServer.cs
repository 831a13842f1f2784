using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using PersonaGym.AppHost.LocalInfrastructure;

namespace PersonaGym.Testing;

/// <summary>
/// A real RabbitMQ for tests. When <c>PERSONAGYM_TEST_RABBITMQ</c> holds an <c>amqp://</c> URI, that broker is used;
/// otherwise the installed <c>rabbitmq-server</c> runs a throw-away node (its own node name, free AMQP and
/// distribution ports, data and logs in a temporary folder, no plugins). The default guest/guest account works
/// on loopback. Share one per test run through an xunit collection fixture, as with <see cref="PostgresServer"/>.
/// </summary>
public sealed class RabbitMqServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "PERSONAGYM_TEST_RABBITMQ";

    /// <summary>The conventional collection name for tests that share the broker.</summary>
    public const string Collection = "RabbitMQ";

    // The packaged wrapper switches to the rabbitmq user when run as root; other users run the script itself.
    private const string PackagedWrapper = "/usr/sbin/rabbitmq-server";
    private const string ServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private const string ServiceUser = "rabbitmq";

    private readonly ConcurrentQueue<string> _log = new();
    private Process? _server;
    private string? _folder;
    private Uri? _amqpUri;
    private int? _epmdPort;
    private System.Diagnostics.ProcessStartInfo? _startInfo;
    private int _port;

    public bool IsExternal { get; private set; }

    /// <summary>The broker's <c>amqp://user:password@host:port/</c> URI (the form Aspire's RabbitMQ connection strings take).</summary>
    public Uri AmqpUri => _amqpUri ?? throw new InvalidOperationException("The RabbitMQ server has not been started (InitializeAsync).");

    public string ConnectionString => AmqpUri.ToString();

    /// <summary>The node name of a broker started here (e.g. <c>pg-test-1a2b3c4d@localhost</c>); null for an external broker.</summary>
    public string? NodeName { get; private set; }

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            IsExternal = true;
            _amqpUri = new Uri(external);
            return;
        }
        await StartLocalServerAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is { HasExited: false })
        {
            // A throw-away node: nothing in it needs an orderly shutdown.
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        }
        _server?.Dispose();
        if (_epmdPort is { } epmdPort)
        {
            // The port mapper daemonizes, so it is not in the node's process tree.
            await ExternalProcess.RunAsync(ExternalProcess.StartInfo("epmd", ["-port", epmdPort.ToString(), "-kill"], user: null),
                TimeSpan.FromSeconds(10));
        }
        if (_folder is not null && Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private async Task StartLocalServerAsync()
    {
        var root = Environment.IsPrivilegedProcess;
        var executable = root ? PackagedWrapper : ServerScript;
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"RabbitMQ is not installed ({executable} is missing). Install it with 'apt-get install rabbitmq-server', " +
                $"or set {EnvironmentVariable} to the amqp:// URI of a broker to use.");
        }

        _folder = Directory.CreateTempSubdirectory("personagym-rabbitmq-").FullName;
        var pluginsFile = Path.Combine(_folder, "enabled_plugins");
        await File.WriteAllTextAsync(pluginsFile, "[].");
        if (root) await ExternalProcess.ChownAsync(_folder, ServiceUser);

        var port = LoopbackPorts.Free();
        var distributionPort = LoopbackPorts.Free();
        // A private port mapper, so the node starts one of its own and DisposeAsync can stop it again.
        _epmdPort = LoopbackPorts.Free();
        NodeName = $"pg-test-{Guid.NewGuid().ToString("N")[..8]}@localhost";

        var info = ExternalProcess.StartInfo(executable, [], user: null);
        info.Environment["RABBITMQ_NODENAME"] = NodeName;
        info.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        info.Environment["RABBITMQ_NODE_PORT"] = port.ToString();
        info.Environment["RABBITMQ_DIST_PORT"] = distributionPort.ToString();
        info.Environment["ERL_EPMD_PORT"] = _epmdPort.Value.ToString();
        info.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_folder, "mnesia");
        info.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_folder, "log");
        info.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = pluginsFile;
        info.Environment["RABBITMQ_PLUGINS_EXPAND_DIR"] = Path.Combine(_folder, "plugins-expand");
        info.Environment["RABBITMQ_PID_FILE"] = Path.Combine(_folder, "rabbitmq.pid");
        _startInfo = info;
        _port = port;
        _server = ExternalProcess.Start(info, _log);

        _amqpUri = new Uri($"amqp://guest:guest@127.0.0.1:{port}/");
        await WaitUntilSpeakingAmqpAsync(port, TimeSpan.FromSeconds(120));
    }

    /// <summary>
    /// Stops the broker as a crash would (killed; durable queues and persistent messages stay in its data folder), for
    /// fault tests; start it again with <see cref="StartAsync"/>. Tests that share the broker must be in one collection.
    /// </summary>
    public async Task StopAsync()
    {
        if (IsExternal) throw new InvalidOperationException($"An external broker ({EnvironmentVariable}) is not stopped by tests; unset it to run fault tests.");
        if (_server is not { HasExited: false }) return;
        _server.Kill(entireProcessTree: true);
        await _server.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        _server.Dispose();
        _server = null;
        // The port is free once the node is gone: connections are refused, as with a stopped broker.
        var deadline = Stopwatch.StartNew();
        while (await AnswersAmqpAsync("127.0.0.1", _port) && deadline.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(100);
    }

    /// <summary>Starts a broker stopped by <see cref="StopAsync"/> again: same node, port, account and data.</summary>
    public async Task StartAsync()
    {
        if (_server is { HasExited: false }) return;
        _server = ExternalProcess.Start(_startInfo!, _log);
        await WaitUntilSpeakingAmqpAsync(_port, TimeSpan.FromSeconds(120));
    }

    /// <summary>Waits until the broker answers the AMQP 0-9-1 protocol header with Connection.Start.</summary>
    private async Task WaitUntilSpeakingAmqpAsync(int port, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_server!.HasExited)
            {
                throw new InvalidOperationException(
                    $"rabbitmq-server exited with code {_server.ExitCode} while starting.\n{ExternalProcess.Tail(_log)}");
            }
            if (await AnswersAmqpAsync("127.0.0.1", port)) return;
            if (deadline.Elapsed > timeout)
            {
                throw new InvalidOperationException(
                    $"RabbitMQ did not accept AMQP connections on port {port} within {timeout}.\n{ExternalProcess.Tail(_log)}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>True when an AMQP 0-9-1 broker listens at the address: it answers the protocol header with a method frame.</summary>
    public static async Task<bool> AnswersAmqpAsync(string host, int port, CancellationToken cancellationToken = default)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await client.ConnectAsync(host, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("AMQP\0\0\u0009\u0001"u8.ToArray(), timeout.Token);
            var frameType = new byte[1];
            var read = await stream.ReadAsync(frameType, timeout.Token);
            return read == 1 && frameType[0] == 1; // frame type 1 = method (Connection.Start)
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }
}
