using System.CommandLine;
using PersonaGym.Cli.Benchmark;

namespace PersonaGym.Cli.Commands;

/// <summary>Question sets and the original benchmark: import, export, freeze, score files, calibration.</summary>
public static class BenchmarkCommands
{
    public static IEnumerable<Command> All(CliConsole io)
    {
        var sets = new QuestionSetCommands(io);
        var scores = new ScoreFileCommands(io);
        return [sets.Benchmark(), sets.Sets(), scores.Export(), scores.Calibrate()];
    }
}
