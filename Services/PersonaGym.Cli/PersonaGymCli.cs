using System.CommandLine;
using PersonaGym.Cli.Commands;

namespace PersonaGym.Cli;

/// <summary>The <c>personagym</c> command line.</summary>
public static class PersonaGymCli
{
    public static RootCommand Build(CliConsole io)
    {
        var runs = new RunsCommands(io);
        var root = new RootCommand(
            "PersonaGym: evaluate persona agents with the method of 'PersonaGym: Evaluating Persona Agents and LLMs' (arXiv 2407.18416). " +
            "Without model options every role uses the built-in offline model, whose scores mean nothing; name real models with specs such as " +
            "openai:gpt-4o-mini, openai:llama3@http://localhost:8000/v1, azure-openai:DEPLOYMENT@https://NAME.openai.azure.com, anthropic:claude-3-5-sonnet-latest, ollama:llama3.1.")
        {
            new RunCommand(io).Build(),
            runs.Resume(),
            runs.List(),
            runs.Show(),
            new KeysCommands(io).Build(),
        };
        foreach (var command in BenchmarkCommands.All(io)) root.Subcommands.Add(command);
        return root;
    }

    public static Task<int> InvokeAsync(string[] args, CliConsole io, CancellationToken cancellationToken = default) =>
        Build(io).Parse(args).InvokeAsync(cancellationToken: cancellationToken);
}
