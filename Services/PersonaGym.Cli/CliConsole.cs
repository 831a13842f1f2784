using PersonaGym.Core.Offline;
using Spectre.Console;

namespace PersonaGym.Cli;

/// <summary>Where the CLI writes (a real terminal, or a captured one in tests), and how it reports failures.</summary>
public sealed class CliConsole(IAnsiConsole output, TextWriter error)
{
    /// <summary>Set to print stack traces of unexpected errors.</summary>
    public const string DebugVariable = "PERSONAGYM_DEBUG";

    public IAnsiConsole Out { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>How often progress is polled while following a run.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    public static CliConsole ForTerminal()
    {
        // Logs and pipes have no width: give lines room instead of wrapping them at 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Console.Profile.Width = 160;
        return new CliConsole(AnsiConsole.Console, Console.Error);
    }

    /// <summary>Says, where nobody can miss it, that offline scores are not an evaluation.</summary>
    public void WarnOffline() =>
        Out.MarkupLine($"[bold yellow]Offline models in use ({Markup.Escape(OfflineChatClient.Disclaimer)}):[/] deterministic stand-ins that need no keys; their scores mean nothing. Name real models with --agent / --judge / --question-writer / --exemplar-writer.");

    /// <summary>Runs a command, turning expected failures into a message and an exit code.</summary>
    public async Task<int> GuardAsync(Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (CliException ex)
        {
            Error.WriteLine($"error: {ex.Message}");
            foreach (var detail in ex.Details) Error.WriteLine($"  - {detail}");
            return ex.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Error.WriteLine("Interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (Exception ex)
        {
            // A defect, not bad input: say what happened in one line; the trace only when asked for.
            Error.WriteLine($"error: unexpected {ex.GetType().Name}: {ex.Message}");
            if (Environment.GetEnvironmentVariable(DebugVariable) is { Length: > 0 }) Error.WriteLine(ex);
            else Error.WriteLine($"  (set {DebugVariable}=1 for the full trace)");
            return ExitCodes.Failed;
        }
    }
}
