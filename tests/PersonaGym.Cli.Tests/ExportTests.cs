using System.Globalization;
using System.Text.Json;
using PersonaGym.Core;
using PersonaGym.Core.Benchmark;
using PersonaGym.Core.Reports;

namespace PersonaGym.Cli.Tests;

/// <summary><c>personagym export</c>: the paper's score files, per model under test.</summary>
public sealed class ExportTests(ExportRunFixture run) : IClassFixture<ExportRunFixture>
{
    /// <summary>The key order of the published files in personagym-benchmark-v1/published-scores.</summary>
    private static readonly string[] PublishedKeys =
        ["Action Justification", "Expected Action", "Linguistic Habits", "Persona Consistency", "Toxicity Control", "PersonaScore"];

    private async Task<(CliResult Result, string Folder)> ExportAsync()
    {
        var folder = run.Cli.PathOf($"export-{Guid.NewGuid():N}");
        var result = await run.Cli.RunAsync("export", "scored", folder);
        Assert.True(result.ExitCode == 0, result.ToString());
        return (result, folder);
    }

    [Fact]
    public async Task Each_model_gets_a_score_file_with_the_published_keys_in_their_order_and_two_decimals()
    {
        var (result, folder) = await ExportAsync();
        Assert.Contains(" over 2 personas.", result.Out);

        foreach (var model in new[] { "offline-first-agent", "offline-second-agent" })
        {
            var file = Path.Combine(folder, model + BenchmarkExport.ScoresSuffix);
            Assert.Contains($"Wrote {file}", result.Out);
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            var properties = json.RootElement.EnumerateObject().ToList();
            Assert.Equal(PublishedKeys, properties.Select(p => p.Name));
            Assert.All(properties, p =>
            {
                var value = p.Value.GetDouble();
                Assert.InRange(value, 1, 5);
                Assert.Equal(Math.Round(value, 2), value);
            });
            // The file reads back through the reader of the published files.
            Assert.Equal(PublishedKeys, BenchmarkFormat.ReadScores(file).Keys);
        }
    }

    [Fact]
    public async Task Task_scores_are_the_mean_over_personas_of_the_per_persona_csv_and_PersonaScore_their_mean()
    {
        var (_, folder) = await ExportAsync();

        var scores = BenchmarkFormat.ReadScores(Path.Combine(folder, "offline-first-agent" + BenchmarkExport.ScoresSuffix));
        var rows = Csv.Parse(File.ReadAllText(Path.Combine(folder, "offline-first-agent" + BenchmarkExport.PersonasSuffix)));
        Assert.Equal(BenchmarkExport.PersonasCsvHeader, rows[0].Fields);
        Assert.Equal(2 * PersonaTasks.All.Count, rows.Count - 1);
        foreach (var task in PersonaTasks.All)
        {
            // The means count complete personas only; the file says which rows those are (here: all of them).
            var perPersona = rows.Skip(1).Where(r => r.Fields[1] == task.DisplayName() && r.Fields[^1] == "true")
                .Select(r => double.Parse(r.Fields[2], CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(2, perPersona.Count);
            Assert.Equal(Math.Round(perPersona.Average(), 2, MidpointRounding.AwayFromZero), scores[task.DisplayName()], 2);
        }

        // PersonaScore is the unweighted mean of the five task scores (paper §4); rounding each costs at most 0.005.
        Assert.Equal(PersonaTasks.All.Average(t => scores[t.DisplayName()]), scores["PersonaScore"], 0.006);
    }

    [Fact]
    public async Task Judge_validity_and_per_persona_csv_are_written_beside_the_scores()
    {
        var (result, folder) = await ExportAsync();

        Assert.Equal(
            new[] { "judge-validity.json", "offline-first-agent.personas.csv", "offline-first-agent.scores.json", "offline-second-agent.personas.csv", "offline-second-agent.scores.json" },
            Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(5, result.Out.Split('\n').Count(l => l.StartsWith("Wrote ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Offline_scores_are_flagged_as_no_evaluation_on_both_outputs()
    {
        var (result, _) = await ExportAsync();

        Assert.Contains("Offline models in use", result.Out);
        Assert.Contains("NOT an evaluation", result.Error);
    }

    [Fact]
    public async Task An_unknown_run_is_an_input_error()
    {
        var result = await run.Cli.RunAsync("export", "no-such-run", run.Cli.PathOf("nowhere"));

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("no run 'no-such-run'", result.Error);
        Assert.False(Directory.Exists(run.Cli.PathOf("nowhere")));
    }
}
