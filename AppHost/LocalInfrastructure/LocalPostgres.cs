using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace PersonaGym.AppHost.LocalInfrastructure;

/// <summary>The installed PostgreSQL server, run by the AppHost on a loopback port.</summary>
public sealed class LocalPostgresServerResource(string name, string command, string workingDirectory, int port, string password)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string SuperUser = "postgres";

    public int Port { get; } = port;

    internal string Password { get; } = password;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username={SuperUser};Password={Password}");
}

/// <summary>A database on <see cref="LocalPostgresServerResource"/>; the AppHost creates it once the server is healthy.</summary>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresServerResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    public LocalPostgresServerResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

internal static class LocalPostgresExtensions
{
    private const string InstallCommand = "apt-get install -y postgresql";

    /// <summary>The operating-system account the Debian package creates, which the server runs as when we are root.</summary>
    private const string ServiceAccount = "postgres";

    /// <summary>Debian/Ubuntu install the server binaries per major version, outside PATH.</summary>
    private static IEnumerable<string> DebianBinDirectories() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(dir => int.TryParse(Path.GetFileName(dir), out var major) ? major : 0)
                .Select(dir => Path.Combine(dir, "bin"))
            : [];

    /// <summary>The server binaries (postgres, initdb), or why they cannot be used; looked for before anything is written.</summary>
    internal sealed record Binaries(string Postgres, string Initdb);

    /// <summary>Finds the binaries; null with a problem naming the install command when one is missing.</summary>
    internal static Binaries? FindBinaries(LocalInfrastructureSettings settings, out string? problem)
    {
        var binDirectories = DebianBinDirectories().ToList();
        var postgres = OsProcess.FindExecutable("postgres", settings.PostgresBinDirectory, binDirectories);
        var initdb = OsProcess.FindExecutable("initdb", settings.PostgresBinDirectory, binDirectories);
        if (postgres is null || initdb is null)
        {
            var where = settings.PostgresBinDirectory ?? "/usr/lib/postgresql/*/bin or PATH";
            problem = $"PostgreSQL server binaries (postgres, initdb) were not found in {where}. Install them with: {InstallCommand}";
            return null;
        }

        problem = null;
        return new Binaries(postgres, initdb);
    }

    public static IResourceBuilder<LocalPostgresDatabaseResource> AddLocalPostgres(
        this IDistributedApplicationBuilder builder, string serverName, string databaseResourceName, string databaseName,
        LocalInfrastructureSettings settings, Binaries binaries)
    {
        var (postgres, initdb) = binaries;

        // PostgreSQL refuses to run as root. setpriv (util-linux) drops to the package's 'postgres'
        // account and then execs the server, so the process the AppHost starts and stops is the
        // postmaster itself (runuser/su would stay in between as a parent).
        var runAsPostgresUser = OsProcess.IsRoot;
        if (runAsPostgresUser && OsProcess.FindExecutable(OsProcess.Setpriv, null, ["/usr/bin", "/bin"]) is null)
        {
            throw new DistributedApplicationException(
                "The AppHost runs as root and PostgreSQL refuses root; 'setpriv' (util-linux) is needed to start it as the 'postgres' account.");
        }

        var preferredServerDirectory = Path.Combine(settings.DataDirectory, "postgres");
        var serverDirectory = runAsPostgresUser
            ? DirectoryThePostgresAccountReaches(preferredServerDirectory)
            : preferredServerDirectory;
        var dataDirectory = Path.Combine(serverDirectory, "data");
        var passwordFile = Path.Combine(serverDirectory, "superuser-password");
        CreateDirectoryOthersCanEnter(serverDirectory);
        var password = ReadOrCreatePassword(passwordFile);
        var port = LoopbackPorts.Free();

        string[] dropPrivileges = runAsPostgresUser
            ? [.. OsProcess.AsUser(ServiceAccount), postgres]
            : [];
        var server = new LocalPostgresServerResource(
            serverName, runAsPostgresUser ? OsProcess.Setpriv : postgres, serverDirectory, port, password);

        var serverHealthCheck = $"{serverName}-accepts-connections";
        var databaseHealthCheck = $"{databaseName}-accepts-connections";
        var serverConnectionString = NpgsqlCheckConnectionString(port, password, "postgres");
        var databaseConnectionString = NpgsqlCheckConnectionString(port, password, databaseName);
        builder.Services.AddHealthChecks()
            .AddAsyncCheck(serverHealthCheck, ct => CanQueryAsync(serverConnectionString, ct))
            .AddAsyncCheck(databaseHealthCheck, ct => CanQueryAsync(databaseConnectionString, ct));

        var serverBuilder = builder.AddResource(server)
            // Every service replica keeps its own Npgsql pool and the stages work on many batches at once:
            // PostgreSQL's default of 100 connections runs out ("too many clients") under load. ConnectionBudget
            // sizes the pools to share this server's connections.
            .WithArgs([.. dropPrivileges, "-D", dataDirectory, "-p", port.ToString(CultureInfo.InvariantCulture), "-c", $"max_connections={ConnectionBudget.ServerConnections}"])
            .WithHealthCheck(serverHealthCheck)
            .ExcludeFromManifest();

        builder.Eventing.Subscribe<BeforeStartEvent>(async (@event, ct) =>
        {
            var logger = @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PersonaGym.LocalPostgres");
            if (serverDirectory != preferredServerDirectory)
            {
                logger.LogInformation(
                    "The 'postgres' account cannot reach {Preferred} (a parent folder is private to its owner), so PostgreSQL keeps its data in {ServerDirectory}",
                    preferredServerDirectory, serverDirectory);
            }

            await OsProcess.StopLeftoverAsync(Path.Combine(dataDirectory, "postmaster.pid"), "postgres", OsProcess.SigInt, logger, ct);
            await InitializeDataDirectoryAsync(initdb, serverDirectory, dataDirectory, passwordFile, runAsPostgresUser, logger, ct);
        });

        var database = builder.AddResource(new LocalPostgresDatabaseResource(databaseResourceName, databaseName, server))
            .WithHealthCheck(databaseHealthCheck)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "PostgresDatabase",
                State = KnownResourceStates.Waiting,
                Properties = [new ResourcePropertySnapshot(CustomResourceKnownProperties.Source, serverBuilder.Resource.Name)],
            })
            .ExcludeFromManifest();

        // The database is created by the AppHost, as Aspire's Postgres integration does for containers,
        // so every service (and the Api's migrations) finds it whatever the infrastructure mode.
        // Aspire only moves container children along with their parent, so this resource's state is
        // published here; its health check then decides when services waiting for it may start.
        builder.Eventing.Subscribe<ResourceReadyEvent>(server, async (@event, ct) =>
        {
            var notifications = @event.Services.GetRequiredService<ResourceNotificationService>();
            try
            {
                await CreateDatabaseIfMissingAsync(serverConnectionString, databaseName, ct);
                await notifications.PublishUpdateAsync(database.Resource, snapshot => snapshot with
                {
                    State = KnownResourceStates.Running,
                    StartTimeStamp = DateTime.UtcNow,
                });
            }
            catch (NpgsqlException exception)
            {
                @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PersonaGym.LocalPostgres")
                    .LogError(exception, "Could not create the database {Database}", databaseName);
                await notifications.PublishUpdateAsync(database.Resource, snapshot => snapshot with
                {
                    State = new ResourceStateSnapshot(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error),
                });
            }
        });

        return database;
    }

    private static string NpgsqlCheckConnectionString(int port, string password, string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = LocalPostgresServerResource.SuperUser,
            Password = password,
            Database = database,
            // No pool: an idle pooled connection held by the AppHost would delay the server's shutdown.
            Pooling = false,
            Timeout = 3,
        }.ConnectionString;

    private static async Task<HealthCheckResult> CanQueryAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy(exception.Message);
        }
    }

    private static async Task CreateDatabaseIfMissingAsync(string serverConnectionString, string databaseName, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(serverConnectionString);
        await connection.OpenAsync(cancellationToken);

        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", databaseName);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }

        // CREATE DATABASE takes no parameters; the name is an identifier we own, quoted as one.
        var quoted = "\"" + databaseName.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Where data folders go when the preferred one is out of the 'postgres' account's reach.</summary>
    internal const string SharedDataRoot = "/var/lib/personagym";

    /// <summary>
    /// PostgreSQL runs as 'postgres' and must pass through every parent of its data folder. A clone under /root (mode
    /// 0700) is out of its reach; its data then lives under <see cref="SharedDataRoot"/>, in a folder named after the
    /// preferred one, so the same clone finds the same database at every start.
    /// </summary>
    internal static string DirectoryThePostgresAccountReaches(string preferred)
    {
        // The folder is created (by root, open to others) only later: what matters is its nearest existing parent.
        var existing = Path.GetFullPath(preferred);
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            existing = parent;
        }

        if (OsProcess.CanReachAs(ServiceAccount, existing))
        {
            return preferred;
        }

        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(preferred))))[..16];
        var fallback = Path.Combine(SharedDataRoot, key, "postgres");
        CreateDirectoryOthersCanEnter(fallback);
        if (!OsProcess.CanReachAs(ServiceAccount, fallback))
        {
            throw new DistributedApplicationException(
                $"The 'postgres' account can reach neither {preferred} nor {fallback} (or the account is missing: apt-get install -y postgresql creates it). " +
                "Set Infrastructure:DataDirectory to a folder whose parents it may pass through.");
        }

        return fallback;
    }

    /// <summary>
    /// Creates the folder and any missing parents open for others to pass through (0755) whatever the umask, so the
    /// 'postgres' account reaches the folder it is then given. Existing folders are left as they are.
    /// </summary>
    private static void CreateDirectoryOthersCanEnter(string directory)
    {
        var missing = new Stack<string>();
        for (var current = Path.GetFullPath(directory); !Directory.Exists(current); current = Path.GetDirectoryName(current)!)
        {
            missing.Push(current);
        }

        while (missing.TryPop(out var folder))
        {
            Directory.CreateDirectory(folder);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                    UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            }
        }
    }

    private static string ReadOrCreatePassword(string passwordFile)
    {
        if (File.Exists(passwordFile))
        {
            return File.ReadAllText(passwordFile).Trim();
        }

        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        File.WriteAllText(passwordFile, password + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return password;
    }

    private static async Task InitializeDataDirectoryAsync(
        string initdb, string serverDirectory, string dataDirectory, string passwordFile, bool runAsPostgresUser, ILogger logger, CancellationToken ct)
    {
        if (runAsPostgresUser)
        {
            // The server (running as 'postgres') must own its folder and read the password file at initdb.
            var (chownExit, chownOutput) = await OsProcess.RunAsync("chown", ["-R", $"{ServiceAccount}:{ServiceAccount}", serverDirectory], ct);
            if (chownExit != 0)
            {
                throw new DistributedApplicationException($"Could not hand {serverDirectory} to the 'postgres' account: {chownOutput}");
            }
        }

        if (File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            return;
        }

        logger.LogInformation("Creating the PostgreSQL data folder {DataDirectory}", dataDirectory);
        string[] initdbArguments =
        [
            "-D", dataDirectory,
            "-U", LocalPostgresServerResource.SuperUser,
            $"--pwfile={passwordFile}",
            // Password authentication everywhere: the server listens on loopback only, but any local
            // account could reach it.
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
        ];
        var (exitCode, output) = runAsPostgresUser
            ? await OsProcess.RunAsync(OsProcess.Setpriv, [.. OsProcess.AsUser(ServiceAccount), initdb, .. initdbArguments], ct, serverDirectory)
            : await OsProcess.RunAsync(initdb, initdbArguments, ct, serverDirectory);
        if (exitCode != 0)
        {
            throw new DistributedApplicationException($"initdb failed for {dataDirectory}:\n{output}");
        }

        // Loopback TCP only, and no Unix socket: its default folder (/var/run/postgresql) may not exist
        // or may belong to a system cluster.
        await File.AppendAllTextAsync(
            Path.Combine(dataDirectory, "postgresql.conf"),
            "\n# PersonaGym local infrastructure\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n",
            ct);
    }
}
