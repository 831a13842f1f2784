using PersonaGym.Core;
using PersonaGym.Core.Benchmark;
using PersonaGym.Pipeline.Reports;
using Xunit.Abstractions;

namespace PersonaGym.Pipeline.Tests;

public class ReferenceEntryTests(ITestOutputHelper output)
{
    private static ReferenceEntry Entry(double? personaScore, params double?[] tasks) => new(Guid.Empty, "model", personaScore,
        PersonaTasks.All.Select((t, i) => (t, i)).ToDictionary(x => x.t.DisplayName(), x => tasks[x.i]));

    [Fact]
    public void A_published_PersonaScore_that_is_not_the_mean_of_its_task_scores_is_flagged()
    {
        // Tasks averaging 3.84 under a PersonaScore of 3.64, as in one of the paper's published rows.
        var inconsistent = Entry(3.64, 4.00, 3.90, 3.60, 3.70, 4.00);
        Assert.Contains("3.64 is not the mean of its published task scores (3.84)", inconsistent.Inconsistency);

        // Two-decimal rounding of each figure is no inconsistency; a missing figure leaves nothing to compare.
        Assert.Null(Entry(3.85, 4.00, 3.90, 3.60, 3.70, 4.03).Inconsistency);
        Assert.Null(Entry(3.64, 4.00, 3.90, null, 3.70, 4.00).Inconsistency);
        Assert.Null(Entry(null, 4.00, 3.90, 3.60, 3.70, 4.00).Inconsistency);
    }

    [Fact]
    public void Of_the_original_benchmarks_published_rows_only_Claude_3_Haiku_is_flagged()
    {
        if (Environment.GetEnvironmentVariable("PERSONAGYM_BENCHMARK_DIR") is not { Length: > 0 } directory)
        {
            output.WriteLine("PERSONAGYM_BENCHMARK_DIR is not set: the original benchmark is ABSENT, so its published rows are not checked.");
            return;
        }

        var flagged = new List<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(directory, "published-scores"), "*.json").Order(StringComparer.Ordinal))
        {
            var scores = BenchmarkFormat.ReadScores(file);
            var entry = new ReferenceEntry(Guid.Empty, Path.GetFileNameWithoutExtension(file), scores[BenchmarkFormat.PersonaScoreKey],
                PersonaTasks.All.ToDictionary(t => t.DisplayName(), t => scores.TryGetValue(t.DisplayName(), out var v) ? v : (double?)null));
            if (entry.Inconsistency is not null) flagged.Add(entry.Model);
        }

        Assert.Equal(["20240710_claude_3_haiku"], flagged);
    }
}
