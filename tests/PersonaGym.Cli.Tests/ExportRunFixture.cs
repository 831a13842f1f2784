namespace PersonaGym.Cli.Tests;

/// <summary>
/// One finished benchmark-mode run, shared by the tests of a class: two offline models under test answered the
/// first two personas of the fixture benchmark, two offline judges graded them.
/// </summary>
public sealed class ExportRunFixture : IAsyncLifetime, IDisposable
{
    public const string FirstAgent = "offline:first-agent";
    public const string SecondAgent = "offline:second-agent";

    public CliSession Cli { get; } = new("scored");
    public Guid RunId { get; private set; }

    public async Task InitializeAsync()
    {
        BenchmarkSource.WriteFixture(Cli.PathOf("bench"));
        var import = await Cli.RunAsync("benchmark", "import", Cli.PathOf("bench"));
        if (import.ExitCode != 0) throw new InvalidOperationException(import.ToString());
        var run = await Cli.RunAsync("run", "--question-set", "bench", "--limit", "2", "--agent", FirstAgent, "--agent", SecondAgent,
            "--judge", "offline:judge-one", "--judge", "offline:judge-two", "--name", "scored");
        if (run.ExitCode != 0) throw new InvalidOperationException(run.ToString());
        RunId = (await Cli.SingleRunAsync()).Id;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => Cli.Dispose();
}
