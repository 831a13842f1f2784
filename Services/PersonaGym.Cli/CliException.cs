namespace PersonaGym.Cli;

/// <summary>The exit codes of <c>personagym</c>, as the README documents them.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The run failed, or an operation could not be done.</summary>
    public const int Failed = 1;
    /// <summary>Bad input (arguments, files, specs, keys, database): nothing was started or stored.</summary>
    public const int InvalidInput = 2;
    /// <summary>The run finished but some items failed, or it stopped at its budget: the results are partial.</summary>
    public const int Partial = 3;
    /// <summary>Interrupted (Ctrl+C); the run can be resumed.</summary>
    public const int Interrupted = 130;
}

/// <summary>A failure the CLI reports as a message and an exit code, never as a stack trace.</summary>
public sealed class CliException(string message, IReadOnlyList<string>? details = null, int exitCode = ExitCodes.InvalidInput) : Exception(message)
{
    public IReadOnlyList<string> Details { get; } = details ?? [];
    public int ExitCode { get; } = exitCode;
}
