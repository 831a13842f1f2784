using System.CommandLine;

namespace PersonaGym.Cli.Commands;

/// <summary>Question sets and the original benchmark: import, export, freeze, score files, calibration.</summary>
public static class BenchmarkCommands
{
    public static IEnumerable<Command> All(CliConsole io) => [];
}
