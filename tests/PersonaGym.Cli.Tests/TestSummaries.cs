using PersonaGym.Data;

namespace PersonaGym.Cli.Tests;

/// <summary>A run's summary part-way (4 of 10 batches answered, 2 judged), as the progress display polls it.</summary>
internal static class TestSummaries
{
    public static RunSummary PartWay(RunStatus status = RunStatus.Running, IReadOnlyList<ModelConcurrencySummary>? concurrency = null) =>
        new(Guid.CreateVersion7(), "run", status, DateTimeOffset.UtcNow, null, false, null,
            ["openai:agent"], ["openai:judge"], new PersonaProgress(1, 1, 0, 0), new BatchProgress(10, 10, 4, 2, 4, 0),
            30, 8, 0, new LlmUsage(38, 0, 0, 1000, 500), [])
        {
            Concurrency = concurrency ?? [],
        };
}
