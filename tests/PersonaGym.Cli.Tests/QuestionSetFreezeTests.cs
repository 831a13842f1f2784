using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Benchmark;
using PersonaGym.Data;

namespace PersonaGym.Cli.Tests;

/// <summary>A run's generated questions, frozen under a name, are asked again by later runs without a question call; and any set travels in the benchmark layout.</summary>
public sealed class QuestionSetFreezeTests : IDisposable
{
    private readonly CliSession _cli = new("freeze");

    private static readonly string[] TwoPersonas =
    [
        "A 38-year-old beekeeper from Slovenia who teaches children about pollinators",
        "A 52-year-old ferry captain from Newfoundland with a dry sense of humour",
    ];

    public void Dispose() => _cli.Dispose();

    private async Task<Guid> GenerateAsync(string name)
    {
        var result = await _cli.RunAsync("run", "--persona", TwoPersonas[0], "--persona", TwoPersonas[1], "-n", "3", "--name", name);
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        await using var db = _cli.OpenDatabase();
        return await db.Runs.Where(r => r.Name == name).Select(r => r.Id).SingleAsync();
    }

    private async Task<List<(string Persona, PersonaTask Task, int Ordinal, string Text)>> QuestionsAskedAsync(Guid runId)
    {
        await using var db = _cli.OpenDatabase();
        var rows = await db.Answers.AsNoTracking().Where(a => a.RunId == runId)
            .Select(a => new { Persona = a.Question.QuestionSetPersona.Persona.Text, a.Question.Task, a.Question.Ordinal, a.Question.Text })
            .ToListAsync();
        return rows.Select(r => (r.Persona, r.Task, r.Ordinal, r.Text)).OrderBy(r => r.Persona).ThenBy(r => r.Task).ThenBy(r => r.Ordinal).ToList();
    }

    [Fact]
    public async Task A_frozen_run_set_is_asked_again_verbatim_without_question_or_environment_calls()
    {
        var first = await GenerateAsync("generated");

        var freeze = await _cli.RunAsync("sets", "freeze", "generated", "--name", "beekeepers", "--version", "2024-07");
        var again = await _cli.RunAsync("run", "--question-set", "beekeepers@2024-07", "--name", "again");

        Assert.True(freeze.ExitCode == 0, freeze.ToString());
        Assert.Contains("personagym run --question-set beekeepers@2024-07", freeze.Out);
        Assert.True(again.ExitCode == 0, again.ToString());
        await using var db = _cli.OpenDatabase();
        var set = await db.QuestionSets.AsNoTracking().SingleAsync();
        Assert.Equal(("beekeepers", "2024-07", QuestionSetSource.Generated, true), (set.Name, set.Version, set.Source, set.Frozen));
        var second = await db.Runs.Where(r => r.Name == "again").Select(r => r.Id).SingleAsync();
        Assert.Equal(0, await db.LlmCalls.CountAsync(c => c.RunId == second
            && (c.Stage == LlmCallStage.QuestionGeneration || c.Stage == LlmCallStage.EnvironmentSelection)));
        Assert.True(await db.LlmCalls.CountAsync(c => c.RunId == first && c.Stage == LlmCallStage.QuestionGeneration) > 0);
        var asked = await QuestionsAskedAsync(second);
        Assert.Equal(2 * 5 * 3, asked.Count);
        Assert.Equal(await QuestionsAskedAsync(first), asked);
    }

    [Fact]
    public async Task A_taken_name_and_version_is_refused()
    {
        await GenerateAsync("generated");
        Assert.Equal(0, (await _cli.RunAsync("sets", "freeze", "generated", "--name", "kept")).ExitCode);
        await GenerateAsync("generated-again");

        var clash = await _cli.RunAsync("sets", "freeze", "generated-again", "--name", "kept");

        Assert.Equal(ExitCodes.InvalidInput, clash.ExitCode);
        Assert.Contains("kept@1 exists already", clash.Error);
        await using var db = _cli.OpenDatabase();
        Assert.Equal(1, await db.QuestionSets.CountAsync(s => s.Frozen));
    }

    [Fact]
    public async Task A_run_whose_questions_are_not_all_written_cannot_be_frozen()
    {
        var runId = await GenerateAsync("generated");
        await using (var db = _cli.OpenDatabase())
        {
            // The state of a persona whose questions are still being written (or whose writing failed).
            var hash = Persona.HashOf(TwoPersonas[1]);
            Assert.Equal(1, await db.QuestionSetPersonas.Where(s => s.Persona.TextHash == hash)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.Status, QuestionSetPersonaStatus.Pending)));
        }

        var freeze = await _cli.RunAsync("sets", "freeze", runId.ToString(), "--name", "half");

        Assert.Equal(ExitCodes.InvalidInput, freeze.ExitCode);
        Assert.Contains("no complete question set yet", freeze.Error);
        Assert.Contains($"\"{TwoPersonas[1]}\": no questions yet", freeze.Error);
        Assert.DoesNotContain(TwoPersonas[0], freeze.Error);
        await using var check = _cli.OpenDatabase();
        Assert.Equal(0, await check.QuestionSets.CountAsync(s => s.Frozen));
    }

    [Fact]
    public async Task A_generated_set_exported_in_the_benchmark_layout_imports_back_with_the_same_questions()
    {
        var runId = await GenerateAsync("generated");
        Assert.Equal(0, (await _cli.RunAsync("sets", "freeze", runId.ToString()[..13], "--name", "beekeepers")).ExitCode);
        var folder = _cli.PathOf("exported");

        var export = await _cli.RunAsync("sets", "export", "beekeepers", folder);
        var import = await _cli.RunAsync("benchmark", "import", folder, "--name", "beekeepers-copy");

        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Contains("environments.json", export.Out);
        var read = BenchmarkFormat.Read(folder);
        Assert.True(read.IsValid, string.Join("\n", read.Issues));
        Assert.Equal(TwoPersonas.Order(StringComparer.Ordinal), read.Personas.Select(p => p.Persona).Order(StringComparer.Ordinal));
        Assert.NotNull(read.Environments);
        Assert.True(import.ExitCode == 0, import.ToString());

        await using var db = _cli.OpenDatabase();
        var texts = await db.Questions.AsNoTracking()
            .Select(q => new { Set = q.QuestionSetPersona.QuestionSet.Name, Persona = q.QuestionSetPersona.Persona.Text, q.Task, q.Ordinal, q.Text })
            .ToListAsync();
        string Key(string set) => string.Join("\n", texts.Where(t => t.Set == set).OrderBy(t => t.Persona).ThenBy(t => t.Task).ThenBy(t => t.Ordinal)
            .Select(t => $"{t.Persona}|{t.Task}|{t.Text}"));
        Assert.Equal(2 * 5 * 3, texts.Count(t => t.Set == "beekeepers-copy"));
        Assert.Equal(Key("beekeepers"), Key("beekeepers-copy"));
    }

    [Fact]
    public async Task The_original_layout_survives_an_import_and_an_export_unchanged()
    {
        var fixture = _cli.PathOf("bench");
        BenchmarkSource.WriteFixture(fixture);
        Assert.Equal(0, (await _cli.RunAsync("benchmark", "import", fixture)).ExitCode);
        var folder = _cli.PathOf("exported");

        var export = await _cli.RunAsync("sets", "export", "bench@1", folder);
        var reimport = await _cli.RunAsync("benchmark", "import", folder, "--name", "bench");

        Assert.True(export.ExitCode == 0, export.ToString());
        var original = BenchmarkFormat.Read(fixture);
        var exported = BenchmarkFormat.Read(folder);
        Assert.True(exported.IsValid, string.Join("\n", exported.Issues));
        Assert.Equal(original.Personas.Select(p => p.Persona), exported.Personas.Select(p => p.Persona));
        Assert.Equal(original.Environments, exported.Environments);
        foreach (var (a, b) in original.Personas.Zip(exported.Personas))
            foreach (var task in PersonaTasks.All) Assert.Equal(a.Questions[task], b.Questions[task]);
        // The same content under the same name and version: recognised as already imported.
        Assert.True(reimport.ExitCode == 0, reimport.ToString());
        Assert.Contains("already imported", reimport.Out);
    }

    [Fact]
    public async Task A_set_of_another_name_cannot_be_exported()
    {
        var result = await _cli.RunAsync("sets", "export", "nothing-here", _cli.PathOf("out"));

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("no question set 'nothing-here'", result.Error);
        Assert.False(Directory.Exists(_cli.PathOf("out")));
    }
}
