using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;

namespace PersonaGym.AppHost.LocalInfrastructure;

/// <summary>The installed RabbitMQ broker, run by the AppHost as its own node on loopback ports.</summary>
public sealed class LocalRabbitMQServerResource(string name, string command, string workingDirectory, int port, string userName, string password)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public int Port { get; } = port;

    /// <summary>Erlang's distribution port (node-to-node and CLI tools), on loopback like the rest.</summary>
    public int DistributionPort { get; init; }

    /// <summary>The node's only user, generated for it (there is no 'guest').</summary>
    public string UserName { get; } = userName;

    internal string Password { get; } = password;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"amqp://{UserName}:{Password}@127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");
}

internal static class LocalRabbitMQExtensions
{
    private const string InstallCommand = "apt-get install -y rabbitmq-server";

    /// <summary>
    /// Our own node name: a RabbitMQ the package may have started as a system service (node 'rabbit',
    /// port 5672, epmd 4369) never clashes with it, since every port here is chosen free at start.
    /// </summary>
    private const string NodeName = "personagym@localhost";

    /// <summary>The broker's start script and Erlang's port mapper.</summary>
    internal sealed record Binaries(string RabbitMQServer, string Epmd);

    /// <summary>Finds the binaries; null with a problem naming the install command when one is missing.</summary>
    internal static Binaries? FindBinaries(LocalInfrastructureSettings settings, out string? problem)
    {
        // Debian's /usr/sbin/rabbitmq-server is a wrapper that switches to the 'rabbitmq' account through
        // su; the script it wraps starts the broker directly, so the AppHost can stop it by signal.
        var rabbitmqServer = OsProcess.FindExecutable("rabbitmq-server", settings.RabbitMQBinDirectory, ["/usr/lib/rabbitmq/bin"]);
        var epmd = OsProcess.FindExecutable("epmd", null, ErlangRuntimeDirectories());
        if (rabbitmqServer is null || epmd is null)
        {
            var where = settings.RabbitMQBinDirectory ?? "/usr/lib/rabbitmq/bin or PATH";
            problem = $"RabbitMQ (rabbitmq-server with Erlang's epmd) was not found in {where}. Install it with: {InstallCommand}";
            return null;
        }

        problem = null;
        return new Binaries(rabbitmqServer, epmd);
    }

    public static IResourceBuilder<LocalRabbitMQServerResource> AddLocalRabbitMQ(
        this IDistributedApplicationBuilder builder, string name, LocalInfrastructureSettings settings, Binaries binaries)
    {
        var (rabbitmqServer, epmd) = binaries;

        var brokerDirectory = Path.Combine(settings.DataDirectory, "rabbitmq");
        var amqpPort = LoopbackPorts.Free();
        var distributionPort = LoopbackPorts.Free();
        var epmdPort = LoopbackPorts.Free();
        var managementPort = LoopbackPorts.Free();
        var files = new BrokerFiles(brokerDirectory);
        var (userName, password) = files.Credentials();
        files.Write(amqpPort, managementPort, userName, password);

        // Erlang nodes register with epmd, which the broker would otherwise start as a daemon that
        // outlives it. Run it as a resource of its own on a private port, so it stops with the AppHost.
        var epmdHealthCheck = $"{name}-epmd-listens";
        var brokerHealthCheck = $"{name}-accepts-amqp";
        var connectionFactory = new ConnectionFactory
        {
            Uri = new Uri($"amqp://{userName}:{password}@127.0.0.1:{amqpPort}/"),
            RequestedConnectionTimeout = TimeSpan.FromSeconds(3),
            AutomaticRecoveryEnabled = false,
        };
        builder.Services.AddHealthChecks()
            .AddAsyncCheck(epmdHealthCheck, ct => TcpListensAsync(epmdPort, ct))
            .AddAsyncCheck(brokerHealthCheck, ct => AmqpHandshakeSucceedsAsync(connectionFactory, ct));

        var portMapper = builder.AddExecutable($"{name}-epmd", epmd, brokerDirectory,
                "-port", epmdPort.ToString(CultureInfo.InvariantCulture), "-address", "127.0.0.1")
            .WithHealthCheck(epmdHealthCheck)
            .ExcludeFromManifest();

        var broker = builder.AddResource(new LocalRabbitMQServerResource(name, rabbitmqServer, brokerDirectory, amqpPort, userName, password) { DistributionPort = distributionPort })
            .WithEnvironment("RABBITMQ_NODENAME", NodeName)
            .WithEnvironment("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .WithEnvironment("RABBITMQ_NODE_PORT", amqpPort.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("RABBITMQ_DIST_PORT", distributionPort.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("ERL_EPMD_PORT", epmdPort.ToString(CultureInfo.InvariantCulture))
            // Distribution binds where the kernel is told before the broker's own configuration is read.
            .WithEnvironment("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}")
            .WithEnvironment("RABBITMQ_MNESIA_BASE", files.Mnesia)
            .WithEnvironment("RABBITMQ_LOG_BASE", files.Logs)
            // Log to standard output, which the dashboard shows as the resource's console.
            .WithEnvironment("RABBITMQ_LOGS", "-")
            .WithEnvironment("RABBITMQ_PID_FILE", files.PidFile)
            .WithEnvironment("RABBITMQ_CONFIG_FILE", files.Config)
            .WithEnvironment("RABBITMQ_ADVANCED_CONFIG_FILE", files.AdvancedConfig)
            .WithEnvironment("RABBITMQ_ENABLED_PLUGINS_FILE", files.EnabledPlugins)
            // Keeps /etc/rabbitmq/rabbitmq-env.conf (the system service's settings) out of this node.
            .WithEnvironment("RABBITMQ_CONF_ENV_FILE", files.EnvConfig)
            // Erlang keeps its cookie in $HOME; ours lives with the node's data.
            .WithEnvironment("HOME", files.Home)
            .WithHttpEndpoint(port: managementPort, targetPort: managementPort, name: "management", isProxied: false)
            .WithHealthCheck(brokerHealthCheck)
            .WaitFor(portMapper)
            .ExcludeFromManifest();

        portMapper.WithParentRelationship(broker);

        builder.Eventing.Subscribe<BeforeStartEvent>(async (@event, ct) =>
        {
            var logger = @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PersonaGym.LocalRabbitMQ");
            await OsProcess.StopLeftoverAsync(files.PidFile, "beam", OsProcess.SigTerm, logger, ct);
        });

        return broker;
    }

    private static IEnumerable<string> ErlangRuntimeDirectories() =>
        Directory.Exists("/usr/lib/erlang")
            ? Directory.GetDirectories("/usr/lib/erlang", "erts-*").Select(dir => Path.Combine(dir, "bin"))
            : [];

    private static async Task<HealthCheckResult> TcpListensAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (SocketException exception)
        {
            return HealthCheckResult.Unhealthy(exception.Message);
        }
    }

    /// <summary>Healthy only when the broker completes an AMQP handshake, not merely when its port is open.</summary>
    private static async Task<HealthCheckResult> AmqpHandshakeSucceedsAsync(ConnectionFactory factory, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await factory.CreateConnectionAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException or SocketException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy(exception.Message);
        }
    }

    /// <summary>Everything the node keeps, under one folder.</summary>
    private sealed class BrokerFiles(string directory)
    {
        public string Mnesia => Path.Combine(directory, "mnesia");
        public string Logs => Path.Combine(directory, "log");
        public string Home => Path.Combine(directory, "home");
        public string PidFile => Path.Combine(directory, "rabbitmq.pid");
        public string Config => Path.Combine(directory, "rabbitmq.conf");
        public string AdvancedConfig => Path.Combine(directory, "advanced.config");
        public string EnabledPlugins => Path.Combine(directory, "enabled_plugins");
        public string EnvConfig => Path.Combine(directory, "rabbitmq-env.conf");
        public string CredentialsFile => Path.Combine(directory, "credentials");

        /// <summary>
        /// The node's user and password, generated once and kept (owner-only) with its data. A node made before there
        /// were credentials has 'guest' in its database: its state is dropped so it starts afresh with the generated
        /// user only (the broker's state is disposable; the sweeper re-publishes unfinished work).
        /// </summary>
        public (string UserName, string Password) Credentials()
        {
            const string userName = "personagym";
            if (File.Exists(CredentialsFile) && File.ReadAllText(CredentialsFile).Trim() is { Length: >= 32 } stored) return (userName, stored);

            Directory.CreateDirectory(directory);
            if (Directory.Exists(Mnesia)) Directory.Delete(Mnesia, recursive: true);
            var password = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var writer = new StreamWriter(CredentialsFile, System.Text.Encoding.ASCII, options)) writer.Write(password);
            return (userName, password);
        }

        public void Write(int amqpPort, int managementPort, string userName, string password)
        {
            Directory.CreateDirectory(Mnesia);
            Directory.CreateDirectory(Logs);
            Directory.CreateDirectory(Home);

            // Ports change from run to run, so the configuration is rewritten at every start.
            File.WriteAllText(Config,
                $"""
                # Written by the PersonaGym AppHost at every start.
                listeners.tcp.1 = 127.0.0.1:{amqpPort}
                management.tcp.ip = 127.0.0.1
                management.tcp.port = {managementPort}
                # The only user, made when the node's database is created: no 'guest'.
                default_user = {userName}
                default_pass = {password}
                default_user_tags.administrator = true
                default_permissions.configure = .*
                default_permissions.read = .*
                default_permissions.write = .*
                """);
            File.WriteAllText(EnabledPlugins, "[rabbitmq_management].\n");
            // Erlang distribution (node-to-node and CLI tools) listens on loopback only, like every other port here.
            File.WriteAllText(AdvancedConfig, "[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}].\n");
            File.WriteAllText(EnvConfig, "# Intentionally empty: settings come from the AppHost's environment variables.\n");
        }
    }
}
