using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Data;
using Xunit.Abstractions;

namespace PersonaGym.Cli.Tests;

/// <summary>
/// The benchmark as the paper published it goes in whole and comes out verbatim: every persona and question stored,
/// and a run on it asks exactly those questions, with no environment or question calls (benchmark mode).
/// </summary>
public sealed class BenchmarkFidelityTests(ITestOutputHelper output) : IDisposable
{
    private readonly CliSession _cli = new("fidelity");

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Import_stores_every_persona_and_question_in_file_order_as_a_frozen_imported_set()
    {
        var source = BenchmarkSource.Resolve(output, _cli.Folder);
        if (source.IsOriginal)
        {
            // The paper's benchmark: 200 personas, 10 questions per task each.
            Assert.Equal(200, source.Content.Personas.Count);
            Assert.Equal(10_000, source.QuestionCount);
        }

        var import = await _cli.RunAsync("benchmark", "import", source.Directory, "--name", "bench");

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Contains($"{source.Content.Personas.Count:N0} personas", import.Out);
        Assert.Contains("personagym run --question-set bench@1 --agent SPEC", import.Out);

        await using var db = _cli.OpenDatabase();
        var set = await db.QuestionSets.AsNoTracking().SingleAsync();
        Assert.Equal(("bench", "1", QuestionSetSource.Imported, true), (set.Name, set.Version, set.Source, set.Frozen));
        Assert.Equal(source.Content.Personas.Count, await db.QuestionSetPersonas.CountAsync(p => p.Status == QuestionSetPersonaStatus.Ready));
        Assert.Equal(source.QuestionCount, await db.Questions.CountAsync(q => q.Source == QuestionSource.Imported));
        var expectedBatches = source.Content.Personas.Sum(p => p.Questions.Values.Sum(q => (q.Count + 4) / 5));
        Assert.Equal(expectedBatches, await db.QuestionBatches.CountAsync());
        Assert.Equal(0, await db.QuestionBatches.CountAsync(b => b.Questions.Count > 5 || b.Questions.Count == 0));

        // Every question verbatim, in its task, in file order.
        var stored = (await db.Questions.AsNoTracking()
                .Select(q => new { Persona = q.QuestionSetPersona.Persona.Text, q.Task, q.Ordinal, q.Text, q.Batch.BatchIndex })
                .ToListAsync())
            .ToLookup(q => (q.Persona, q.Task));
        foreach (var persona in source.Content.Personas)
        {
            foreach (var task in PersonaTasks.All)
            {
                var questions = stored[(Personas.Normalize(persona.Persona), task)].OrderBy(q => q.Ordinal).ToList();
                Assert.Equal(persona.Questions[task], questions.Select(q => q.Text));
                Assert.All(questions, q => Assert.Equal(q.Ordinal / 5, q.BatchIndex));
            }
        }
    }

    [Fact]
    public async Task A_run_on_a_slice_asks_exactly_the_benchmark_questions_of_its_first_personas_and_writes_none()
    {
        var source = BenchmarkSource.Resolve(output, _cli.Folder);
        // The original: its first 5 personas. The 3-persona fixture: its first 2, so the limit still has to cut.
        var slice = Math.Min(5, source.Content.Personas.Count - 1);
        Assert.Equal(0, (await _cli.RunAsync("benchmark", "import", source.Directory, "--name", "bench")).ExitCode);

        var run = await _cli.RunAsync("run", "--question-set", "bench", "--limit", slice.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--agent", "offline:first-agent", "--agent", "offline:second-agent");

        Assert.True(run.ExitCode == 0, run.ToString());
        await using var db = _cli.OpenDatabase();
        var runId = (await _cli.SingleRunAsync()).Id;
        var expected = source.Content.Personas.Take(slice).ToDictionary(p => Personas.Normalize(p.Persona));
        var asked = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == runId).Select(p => p.Persona.Text).ToListAsync();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), asked.Order(StringComparer.Ordinal));

        var answers = await db.Answers.AsNoTracking().Where(a => a.RunId == runId)
            .Select(a => new { Agent = a.Agent.Spec, Persona = a.Question.QuestionSetPersona.Persona.Text, a.Question.Task, a.Question.Ordinal, Question = a.Question.Text })
            .ToListAsync();
        foreach (var agent in new[] { "offline:first-agent", "offline:second-agent" })
        {
            foreach (var (persona, benchmark) in expected)
            {
                var answered = answers.Where(a => a.Agent == agent && a.Persona == persona).ToList();
                // The paper's 5 tasks × 10 questions = 50 per persona on the original.
                Assert.Equal(benchmark.Questions.Values.Sum(q => q.Count), answered.Count);
                if (source.IsOriginal) Assert.Equal(50, answered.Count);
                foreach (var task in PersonaTasks.All)
                    Assert.Equal(benchmark.Questions[task], answered.Where(a => a.Task == task).OrderBy(a => a.Ordinal).Select(a => a.Question));
            }
        }

        var writingCalls = await db.LlmCalls.CountAsync(c => c.RunId == runId
            && (c.Stage == LlmCallStage.QuestionGeneration || c.Stage == LlmCallStage.EnvironmentSelection));
        Assert.Equal(0, writingCalls);
        Assert.True(await db.LlmCalls.CountAsync(c => c.RunId == runId && c.Stage == LlmCallStage.Answering) >= answers.Count);
        Assert.Equal(source.Content.Personas.Count, await db.QuestionSetPersonas.CountAsync());
    }
}
