using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;
using Spectre.Console;

namespace PersonaGym.Cli.Tests;

/// <summary>What one in-process invocation of <c>personagym</c> printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

/// <summary>
/// A scratch folder with its own SQLite database, and the CLI driven in this process through
/// <see cref="PersonaGymCli.InvokeAsync"/> with a captured, non-interactive console.
/// </summary>
public sealed class CliSession : IDisposable
{
    public CliSession(string name = "cli")
    {
        Folder = Directory.CreateTempSubdirectory($"personagym-{name}-").FullName;
        DatabasePath = Path.Combine(Folder, "personagym.db");
    }

    public string Folder { get; }
    public string DatabasePath { get; }

    public string PathOf(string name) => Path.Combine(Folder, name);

    /// <summary>Runs <c>personagym ARGS --db THIS-DATABASE</c>.</summary>
    public Task<CliResult> RunAsync(params string[] args) => InvokeAsync([.. args, "--db", DatabasePath]);

    public static async Task<CliResult> InvokeAsync(string[] args, CancellationToken cancellationToken = default)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            Interactive = InteractionSupport.No,
        });
        // Wide enough that no table cell or message is wrapped in the middle of what a test looks for.
        console.Profile.Width = 400;
        var io = new CliConsole(console, error) { PollInterval = TimeSpan.FromMilliseconds(100) };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        var exitCode = await PersonaGymCli.InvokeAsync(args, io, timeout.Token);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    public PersonaGymDbContext OpenDatabase() => PersonaGymDatabase.CreateDbContext(DatabaseConnection.Parse(DatabasePath));

    /// <summary>The run the database holds (tests here start one run per database unless they say otherwise).</summary>
    public async Task<Run> SingleRunAsync()
    {
        await using var db = OpenDatabase();
        return await db.Runs.AsNoTracking().SingleAsync();
    }

    public void Dispose()
    {
        // SQLite connections are pooled per file: release them, or the folder cannot be deleted on every OS.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A scratch folder left in the temp directory is harmless.
        }
    }
}
