using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core.Benchmark;

namespace PersonaGym.Cli.Tests;

public sealed class QuestionSetImportTests : IDisposable
{
    private readonly CliSession _cli = new("import");

    public QuestionSetImportTests() => BenchmarkSource.WriteFixture(Fixture);

    private string Fixture => _cli.PathOf("personagym-fixture");

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task The_set_is_named_after_the_folder_with_version_1_by_default()
    {
        var result = await _cli.RunAsync("benchmark", "import", Fixture + Path.DirectorySeparatorChar);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("personagym-fixture@1", result.Out);
        await using var db = _cli.OpenDatabase();
        var set = await db.QuestionSets.SingleAsync();
        Assert.Equal(("personagym-fixture", "1"), (set.Name, set.Version));
    }

    [Fact]
    public async Task Published_scores_beside_the_questions_are_stored_once_as_reference_rows_of_the_set()
    {
        var published = Path.Combine(Fixture, BenchmarkFormat.PublishedScoresFolder);
        Directory.CreateDirectory(published);
        File.WriteAllText(Path.Combine(published, "20240710_gpt_35.json"),
            """{"Action Justification": 4.31, "Expected Action": 4.28, "Linguistic Habits": 3.63, "Persona Consistency": 4.7, "Toxicity Control": 4.96, "PersonaScore": 4.38}""");
        File.WriteAllText(Path.Combine(published, "broken.json"), "[1, 2]");

        var first = await _cli.RunAsync("benchmark", "import", Fixture, "--name", "bench");
        var again = await _cli.RunAsync("benchmark", "import", Fixture, "--name", "bench");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("reference rows (6 new figures)", first.Out);
        Assert.Contains("broken.json", first.Error);
        Assert.Contains("reference rows (0 new figures)", again.Out);
        await using var db = _cli.OpenDatabase();
        var references = await PersonaGym.Pipeline.Reports.Leaderboard.ReferencesAsync(db);
        var reference = Assert.Single(references);
        Assert.Equal("20240710_gpt_35", reference.Model);
        Assert.Equal(4.38, reference.PersonaScore);
        Assert.Equal(3.63, reference.Tasks["Linguistic Habits"]);
        Assert.Equal((await db.QuestionSets.SingleAsync()).Id, reference.QuestionSetId);
    }

    [Fact]
    public async Task Importing_the_same_questions_again_says_so_and_stores_nothing_more()
    {
        Assert.Equal(0, (await _cli.RunAsync("benchmark", "import", Fixture, "--name", "bench")).ExitCode);

        var again = await _cli.RunAsync("benchmark", "import", Fixture, "--name", "bench");

        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("already imported", again.Out);
        await using var db = _cli.OpenDatabase();
        Assert.Equal(1, await db.QuestionSets.CountAsync());
        Assert.Equal(BenchmarkSource.FixturePersonas.Count, await db.Personas.CountAsync());
        Assert.Equal(BenchmarkSource.FixturePersonas.Count * BenchmarkSource.FixtureQuestionsPerTask.Values.Sum(), await db.Questions.CountAsync());
    }

    [Fact]
    public async Task Other_questions_under_a_taken_name_and_version_are_refused_with_a_new_version_suggested()
    {
        Assert.Equal(0, (await _cli.RunAsync("benchmark", "import", Fixture, "--name", "bench")).ExitCode);
        var changed = _cli.PathOf("changed");
        BenchmarkSource.WriteFixture(changed, BenchmarkSource.FixturePersonas.Take(2).ToList());

        var clash = await _cli.RunAsync("benchmark", "import", changed, "--name", "bench");
        var newVersion = await _cli.RunAsync("benchmark", "import", changed, "--name", "bench", "--version", "2");

        Assert.Equal(ExitCodes.InvalidInput, clash.ExitCode);
        Assert.Contains("--version 2", clash.Error);
        Assert.True(newVersion.ExitCode == 0, newVersion.ToString());
        await using var db = _cli.OpenDatabase();
        Assert.Equal(["1", "2"], await db.QuestionSets.Where(s => s.Name == "bench").Select(s => s.Version).OrderBy(v => v).ToListAsync());
        // Personas are shared between sets, found by their text.
        Assert.Equal(BenchmarkSource.FixturePersonas.Count, await db.Personas.CountAsync());
    }

    [Fact]
    public async Task A_name_holding_the_version_separator_is_refused_before_anything_is_stored()
    {
        var result = await _cli.RunAsync("benchmark", "import", Fixture, "--name", "bench@2");

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("'@'", result.Error);
        Assert.False(File.Exists(_cli.DatabasePath) && await CountSetsAsync() > 0);
    }

    private async Task<int> CountSetsAsync()
    {
        await using var db = _cli.OpenDatabase();
        return await db.QuestionSets.CountAsync();
    }
}

/// <summary>A bad benchmark folder is reported item by item, exits with 2, and leaves no trace in the database.</summary>
public sealed class BenchmarkValidationTests : IDisposable
{
    private readonly CliSession _cli = new("invalid");

    public void Dispose() => _cli.Dispose();

    private string Fixture => _cli.PathOf("bench");

    private string QuestionFile(int persona) =>
        Path.Combine(Fixture, BenchmarkFileNames.QuestionsFolder, BenchmarkFileNames.QuestionFileNames(BenchmarkSource.FixturePersonas)[persona]);

    private async Task<CliResult> ImportBrokenAsync(Action breakIt)
    {
        BenchmarkSource.WriteFixture(Fixture);
        breakIt();
        // The database exists and is migrated first, so "nothing stored" is a real count of rows.
        Assert.Equal(0, (await _cli.RunAsync("sets")).ExitCode);
        var result = await _cli.RunAsync("benchmark", "import", Fixture);
        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("nothing was stored", result.Error);
        await using var db = _cli.OpenDatabase();
        Assert.Equal(0, await db.QuestionSets.CountAsync());
        Assert.Equal(0, await db.Questions.CountAsync());
        Assert.Equal(0, await db.Personas.CountAsync());
        return result;
    }

    [Fact]
    public async Task A_missing_persona_list_is_reported()
    {
        var result = await ImportBrokenAsync(() => File.Delete(Path.Combine(Fixture, BenchmarkFileNames.PersonasFile)));

        Assert.Contains("personas.json: missing", result.Error);
    }

    [Fact]
    public async Task A_missing_question_file_is_reported_with_its_persona()
    {
        var result = await ImportBrokenAsync(() => File.Delete(QuestionFile(1)));

        Assert.Contains("missing: no question file for persona 2 of personas.json", result.Error);
    }

    [Fact]
    public async Task Wrong_keys_and_empty_lists_are_each_reported_in_their_file()
    {
        var result = await ImportBrokenAsync(() =>
        {
            Rewrite(QuestionFile(0), root => { root["Toxicity Control"] = root["Toxicity"]; root.Remove("Toxicity"); });
            Rewrite(QuestionFile(2), root => root["Linguistic Habits"] = new List<string>());
        });

        var first = Path.GetFileName(QuestionFile(0));
        var third = Path.GetFileName(QuestionFile(2));
        Assert.Contains($"questions/{first}: \"Toxicity Control\": unknown key", result.Error);
        Assert.Contains($"questions/{first}: missing key \"Toxicity\"", result.Error);
        Assert.Contains($"questions/{third}: Linguistic Habits: the list of questions is empty", result.Error);
        Assert.Contains("3 issue(s)", result.Error);
    }

    [Fact]
    public async Task A_persona_listed_twice_is_reported_at_its_second_place()
    {
        var result = await ImportBrokenAsync(() =>
        {
            var personas = BenchmarkSource.FixturePersonas.Append(BenchmarkSource.FixturePersonas[0]).ToList();
            File.WriteAllText(Path.Combine(Fixture, BenchmarkFileNames.PersonasFile), JsonSerializer.Serialize(personas));
        });

        Assert.Contains("personas.json[3]: duplicate of personas.json[0]", result.Error);
    }

    [Fact]
    public async Task A_folder_that_does_not_exist_is_reported()
    {
        Assert.Equal(0, (await _cli.RunAsync("sets")).ExitCode);

        var result = await _cli.RunAsync("benchmark", "import", _cli.PathOf("nowhere"));

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("the benchmark directory does not exist", result.Error);
    }

    private static void Rewrite(string file, Action<Dictionary<string, List<string>>> change)
    {
        var root = JsonSerializer.Deserialize<Dictionary<string, List<string>>>(File.ReadAllText(file))!;
        change(root);
        File.WriteAllText(file, JsonSerializer.Serialize(root));
    }
}
