using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using PersonaGym.AppHost.LocalInfrastructure;

namespace PersonaGym.Testing;

/// <summary>
/// A real PostgreSQL for tests. When <c>PERSONAGYM_TEST_POSTGRES</c> holds a connection string, that server is
/// used; otherwise the installed binaries (/usr/lib/postgresql/*/bin) run a throw-away server: <c>initdb</c> into a
/// temporary folder, <c>postgres</c> on a free loopback port with durability off (tests need speed, not crash
/// safety); the superuser logs in without a password, every other role with its own (scram-sha-256). PostgreSQL refuses to run as root, so as root both run as the <c>postgres</c> OS user.
/// Share one per test run through an xunit collection fixture, and call <see cref="CreateDatabaseAsync"/> once per
/// test class for a fresh database:
/// <code>
/// [CollectionDefinition(PostgresServer.Collection)]
/// public sealed class PostgresCollection : ICollectionFixture&lt;PostgresServer&gt;;
///
/// [Collection(PostgresServer.Collection)]
/// public sealed class MyTests(PostgresServer postgres) : IAsyncLifetime { … await postgres.CreateDatabaseAsync() … }
/// </code>
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "PERSONAGYM_TEST_POSTGRES";

    /// <summary>The conventional collection name for tests that share the server.</summary>
    public const string Collection = "PostgreSQL";

    private const string BinariesRoot = "/usr/lib/postgresql";
    private const string ServiceUser = "postgres";

    private readonly ConcurrentQueue<string> _log = new();
    private readonly List<string> _createdDatabases = [];
    private Process? _server;
    private string? _folder;
    private string? _binaries;
    private string? _adminConnectionString;
    private int _port;

    /// <summary>True when the server came from <c>PERSONAGYM_TEST_POSTGRES</c> instead of being started here.</summary>
    public bool IsExternal { get; private set; }

    /// <summary>A connection string to the server's maintenance database (<c>postgres</c>), as a superuser.</summary>
    public string AdminConnectionString =>
        _adminConnectionString ?? throw new InvalidOperationException("The PostgreSQL server has not been started (InitializeAsync).");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            IsExternal = true;
            _adminConnectionString = new NpgsqlConnectionStringBuilder(external) { Database = "postgres", Pooling = false }.ConnectionString;
            return;
        }
        await StartLocalServerAsync();
    }

    /// <summary>Creates a new empty database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = "personagym_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        lock (_createdDatabases) _createdDatabases.Add(name);
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (IsExternal)
        {
            await DropCreatedDatabasesAsync();
            return;
        }
        await StopLocalServerAsync();
    }

    private async Task StartLocalServerAsync()
    {
        _binaries = FindBinaries();
        _folder = Directory.CreateTempSubdirectory("personagym-pg-").FullName;
        var data = Path.Combine(_folder, "data");
        var user = Environment.IsPrivilegedProcess ? ServiceUser : null;
        if (user is not null) await ExternalProcess.ChownAsync(_folder, user);

        await ExternalProcess.RunAsync(
            ExternalProcess.StartInfo(Path.Combine(_binaries, "initdb"),
                ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"], user),
            TimeSpan.FromMinutes(2));
        // The superuser needs no password (the tests' admin connection); every other role must give its own, so tests
        // of roles and of token passwords see a wrong password refused, as a real server would.
        await File.WriteAllTextAsync(Path.Combine(data, "pg_hba.conf"),
            "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n");

        _port = LoopbackPorts.Free();
        _adminConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = _port, Username = "postgres", Database = "postgres", Pooling = false, Timeout = 5,
        }.ConnectionString;
        await StartProcessAsync();
    }

    private async Task StartProcessAsync()
    {
        var user = Environment.IsPrivilegedProcess ? ServiceUser : null;
        _server = ExternalProcess.Start(
            ExternalProcess.StartInfo(Path.Combine(_binaries!, "postgres"),
            [
                "-D", Path.Combine(_folder!, "data"), "-p", _port.ToString(), "-k", _folder!,
                "-c", "listen_addresses=127.0.0.1",
                "-c", "max_connections=300",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            ], user),
            _log);
        await WaitUntilAcceptingConnectionsAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Stops the server (as an outage would: every connection is cut) and keeps its data, for fault tests; start it
    /// again with <see cref="StartAsync"/>. Tests that share the server must be in one collection (run one at a time).
    /// </summary>
    public async Task StopAsync()
    {
        if (IsExternal) throw new InvalidOperationException($"An external server ({EnvironmentVariable}) is not stopped by tests; unset it to run fault tests.");
        if (_server is not { HasExited: false }) return;
        await ExternalProcess.RunAsync(
            ExternalProcess.StartInfo(Path.Combine(_binaries!, "pg_ctl"),
                ["stop", "-D", Path.Combine(_folder!, "data"), "-m", "fast", "-w"],
                Environment.IsPrivilegedProcess ? ServiceUser : null),
            TimeSpan.FromSeconds(30));
        if (!_server.WaitForExit(TimeSpan.FromSeconds(10))) _server.Kill(entireProcessTree: true);
        _server.Dispose();
        _server = null;
    }

    /// <summary>Starts a server stopped by <see cref="StopAsync"/> again, on the same port with the same data.</summary>
    public async Task StartAsync()
    {
        if (_server is { HasExited: false }) return;
        await StartProcessAsync();
    }

    private async Task WaitUntilAcceptingConnectionsAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_server!.HasExited)
            {
                throw new InvalidOperationException(
                    $"PostgreSQL exited with code {_server.ExitCode} while starting.\n{ExternalProcess.Tail(_log)}");
            }
            try
            {
                await using var connection = new NpgsqlConnection(_adminConnectionString);
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (deadline.Elapsed < timeout)
            {
                await Task.Delay(100);
            }
            catch (NpgsqlException e)
            {
                throw new InvalidOperationException(
                    $"PostgreSQL did not accept connections within {timeout}: {e.Message}\n{ExternalProcess.Tail(_log)}", e);
            }
        }
    }

    private async Task StopLocalServerAsync()
    {
        if (_server is { HasExited: false } && _binaries is not null && _folder is not null)
        {
            try
            {
                await ExternalProcess.RunAsync(
                    ExternalProcess.StartInfo(Path.Combine(_binaries, "pg_ctl"),
                        ["stop", "-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w"],
                        Environment.IsPrivilegedProcess ? ServiceUser : null),
                    TimeSpan.FromSeconds(30));
            }
            catch (InvalidOperationException)
            {
                // Falls through to killing the process below.
            }
            if (!_server.WaitForExit(TimeSpan.FromSeconds(10))) _server.Kill(entireProcessTree: true);
        }
        _server?.Dispose();
        if (_folder is not null && Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private async Task DropCreatedDatabasesAsync()
    {
        string[] names;
        lock (_createdDatabases) names = [.. _createdDatabases];
        if (names.Length == 0) return;
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        foreach (var name in names)
        {
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    private static string FindBinaries()
    {
        var candidates = Directory.Exists(BinariesRoot)
            ? Directory.GetDirectories(BinariesRoot)
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "postgres")) && File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => double.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)),
                    System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : 0)
                .ToList()
            : [];
        return candidates.FirstOrDefault() ?? throw new InvalidOperationException(
            $"PostgreSQL is not installed (no postgres/initdb under {BinariesRoot}/*/bin). " +
            $"Install it with 'apt-get install postgresql', or set {EnvironmentVariable} to a connection string of a server to use.");
    }
}
