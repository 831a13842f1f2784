using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Reports;
using PersonaGym.Data;
using PersonaGym.Pipeline.Reports;
using Xunit.Abstractions;

namespace PersonaGym.Cli.Tests;

/// <summary>`personagym run` end to end in one process, with the offline provider and a SQLite file.</summary>
public sealed class CliRunTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("personagym-cli-").FullName;

    private static readonly string[] ThreePersonas =
    [
        "A 57-year-old truck driver from Texas who loves country music",
        "A 21-year-old photographer from Paris who spends weekends volunteering",
        "A 71-year-old retired nurse from Italy, volunteering in hospice care",
    ];

    public void Dispose()
    {
        SqliteCleanup();
        Directory.Delete(_folder, recursive: true);
    }

    private string Db(string name = "run.db") => Path.Combine(_folder, name);

    private async Task<(int ExitCode, string Out, string Err)> Cli(params string[] args) => await Cli(CancellationToken.None, args);

    private async Task<(int ExitCode, string Out, string Err)> Cli(CancellationToken cancellationToken, params string[] args)
    {
        var result = await CliSession.InvokeAsync(args, cancellationToken);
        output.WriteLine($"$ personagym {string.Join(' ', args)}\n{result}");
        return (result.ExitCode, result.Out, result.Error);
    }

    private static PersonaGymDbContext Open(string db) => PersonaGymDatabase.CreateDbContext(DatabaseConnection.Parse(db));

    private string[] RunArgs(string db, params string[] extra) =>
    [
        "run", "--db", db, "-n", "4",
        "--persona", ThreePersonas[0], "--persona", ThreePersonas[1], "--persona", ThreePersonas[2],
        "--agent", "offline:model-a", "--agent", "offline:model-b",
        "--judge", "offline:judge-1", "--judge", "offline:judge-2",
        .. extra,
    ];

    [Fact]
    public async Task Run_stores_every_artefact_once_and_reports_scores_recomputable_from_the_judgements()
    {
        // Into a folder that does not exist yet, as the README's examples do with results/.
        var json = Path.Combine(_folder, "results", "run.json");
        var (code, stdout, _) = await Cli(RunArgs(Db(), "--output", json));

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("OFFLINE MODEL: NOT AN EVALUATION", stdout);
        Assert.Matches(@"concurrency offline:\S+ \d+ \(\d+ in flight", stdout);
        Assert.True(File.Exists(json));

        await using var db = Open(Db());
        var run = await db.Runs.SingleAsync();
        Assert.Equal(RunStatus.Completed, run.Status);

        // 5 tasks × N=4 questions per persona; one answer per question per model; one judgement per answer per judge.
        Assert.Equal(3 * 5 * 4, await db.Questions.CountAsync());
        foreach (var persona in await db.QuestionSetPersonas.Select(p => p.Id).ToListAsync())
            Assert.Equal(20, await db.Questions.CountAsync(q => q.QuestionSetPersonaId == persona));
        Assert.Equal(3 * 20 * 2, await db.Answers.CountAsync());
        Assert.Equal(0, await db.Answers.GroupBy(a => new { a.QuestionId, a.AgentId }).CountAsync(g => g.Count() > 1));
        Assert.Equal(3 * 20 * 2 * 2, await db.Judgements.CountAsync());
        Assert.Equal(0, await db.Judgements.GroupBy(j => new { j.AnswerId, j.JudgeId }).CountAsync(g => g.Count() > 1));
        Assert.Equal(3 * 20 * 5, await db.Exemplars.CountAsync());

        // Every reported figure equals a recomputation from the stored judgements (paper's rules).
        var judgements = await db.Judgements.AsNoTracking()
            .Select(j => new
            {
                Agent = j.Answer.Agent.Spec, Persona = j.Answer.Question.QuestionSetPersona.Persona.Text, j.Answer.Question.Task,
                j.Answer.Question.BatchId, Judge = j.Judge.Spec, j.Score,
            })
            .ToListAsync();
        using var report = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(json));
        foreach (var model in report.RootElement.GetProperty("models").EnumerateArray())
        {
            var agent = model.GetProperty("agent").GetString()!;
            var personaScores = new List<double>();
            foreach (var persona in model.GetProperty("personas").EnumerateArray())
            {
                var text = persona.GetProperty("persona").GetString()!;
                var taskScores = new List<double>();
                foreach (var task in PersonaTasks.All)
                {
                    var expected = judgements.Where(j => j.Agent == agent && j.Persona == text && j.Task == task)
                        .GroupBy(j => j.BatchId)
                        .Select(batch => batch.GroupBy(j => j.Judge).Select(judge => judge.Where(j => j.Score != null).Average(j => (double)j.Score!.Value)).Average())
                        .Average();
                    taskScores.Add(expected);
                    var reported = persona.GetProperty("tasks").GetProperty(task.DisplayName()).GetProperty("score").GetDouble();
                    Assert.Equal(expected, reported, precision: 9);
                }

                Assert.Equal(taskScores.Average(), persona.GetProperty("personaScore").GetDouble(), precision: 9);
                personaScores.Add(taskScores.Average());
            }

            Assert.Equal(personaScores.Average(), model.GetProperty("overall").GetProperty("personaScore").GetDouble(), precision: 9);
        }

        // The list of runs counts its calls and prices them: offline models cost nothing, with or without a price list.
        var (listed, list, _) = await Cli(["runs", "--db", Db()]);
        Assert.Equal(ExitCodes.Success, listed);
        var calls = (await db.LlmCalls.CountAsync()).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches($@"│\s*{System.Text.RegularExpressions.Regex.Escape(calls)}\s*│\s*0\.00 USD\s*│", list);
    }

    [Fact]
    public async Task An_interrupted_run_resumes_to_completion_with_the_same_paid_calls_as_an_uninterrupted_one()
    {
        var (code, _, _) = await Cli(RunArgs(Db("whole.db")));
        Assert.Equal(ExitCodes.Success, code);
        int uninterrupted;
        await using (var db = Open(Db("whole.db")))
            uninterrupted = await db.LlmCalls.CountAsync(c => !c.CacheHit);

        // Interrupt once some answers are stored but before the run is done.
        using var interrupt = new CancellationTokenSource();
        var running = Cli(interrupt.Token, RunArgs(Db("interrupted.db")));
        await WaitUntilAsync(async () =>
        {
            if (!File.Exists(Db("interrupted.db"))) return false;
            await using var db = Open(Db("interrupted.db"));
            try { return await db.Judgements.CountAsync() > 0; } catch (Microsoft.Data.Sqlite.SqliteException) { return false; }
        });
        interrupt.Cancel();
        var (interruptedCode, _, interruptedErr) = await running;
        Assert.Equal(ExitCodes.Interrupted, interruptedCode);
        Assert.Contains("personagym resume", interruptedErr);

        Guid runId;
        await using (var db = Open(Db("interrupted.db")))
        {
            var run = await db.Runs.SingleAsync();
            Assert.Equal(RunStatus.Running, run.Status);
            runId = run.Id;
        }

        var (resumedCode, resumedOut, _) = await Cli("resume", runId.ToString()[..8], "--db", Db("interrupted.db"));
        Assert.True(resumedCode == ExitCodes.Success, resumedOut);
        await using (var db = Open(Db("interrupted.db")))
        {
            Assert.Equal(RunStatus.Completed, (await db.Runs.SingleAsync()).Status);
            Assert.Equal(uninterrupted, await db.LlmCalls.CountAsync(c => !c.CacheHit));
            Assert.Equal(3 * 20 * 2 * 2, await db.Judgements.CountAsync());
        }
    }

    [Fact]
    public async Task A_report_read_from_an_interrupted_run_on_SQLite_is_recomputed_after_the_resume()
    {
        using var interrupt = new CancellationTokenSource();
        var running = Cli(interrupt.Token, RunArgs(Db("stored.db"), "--agent", "offline:model-stored"));
        await WaitUntilAsync(async () =>
        {
            if (!File.Exists(Db("stored.db"))) return false;
            await using var db = Open(Db("stored.db"));
            try { return await db.Judgements.CountAsync() > 0; } catch (Microsoft.Data.Sqlite.SqliteException) { return false; }
        });
        interrupt.Cancel();
        Assert.Equal(ExitCodes.Interrupted, (await running).ExitCode);

        Guid runId;
        string partial;
        await using (var db = Open(Db("stored.db")))
        {
            runId = (await db.Runs.SingleAsync()).Id;
            var first = (await RunReportReadModel.ReadAsync(db, runId))!;
            Assert.True(first.Recomputed);
            var second = (await RunReportReadModel.ReadAsync(db, runId))!;
            Assert.False(second.Recomputed);
            Assert.Equal(first.Json, second.Json);
            partial = first.Json;
        }

        var (resumedCode, resumedOut, _) = await Cli("resume", runId.ToString(), "--db", Db("stored.db"));
        Assert.True(resumedCode == ExitCodes.Success, resumedOut);
        await using (var db = Open(Db("stored.db")))
        {
            var fresh = RunReportWriter.ToJson((await RunReportBuilder.BuildAsync(db, runId))!);
            var read = (await RunReportReadModel.ReadAsync(db, runId))!;
            Assert.Equal(fresh, read.Json);
            Assert.NotEqual(partial, read.Json);
            Assert.Equal(read.Json, (await db.RunReports.SingleAsync(r => r.RunId == runId && !r.IncludeIncomplete)).Json);
        }
    }

    [Theory]
    [InlineData("--persona", "   ", "empty")]
    [InlineData("--agent", "gpt4", "gpt4")]
    [InlineData("--judge", "anthropic:claude-3-5-sonnet-latest", "ANTHROPIC_API_KEY")]
    [InlineData("--agent", "offline:a --agent offline:a", "named twice")]
    [InlineData("--agent", "offline:a --agent OFFLINE:a", "named twice (also as offline:a)")]
    [InlineData("--environments", "Wedding,Moon Base Alpha 9", "Moon Base Alpha 9")]
    [InlineData("-n", "0", "questions per task")]
    public async Task Bad_input_stops_before_any_call_and_stores_no_run(string option, string value, string expected)
    {
        string[] args = ["run", "--db", Db(), "--persona", "A 61-year-old widower from rural England", .. new[] { option }.Concat(value.Split(" --agent ").SelectMany((v, i) => i == 0 ? new[] { v } : new[] { "--agent", v }))];
        var (code, _, err) = await Cli(args);

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(expected, err);
        if (File.Exists(Db()))
        {
            await using var db = Open(Db());
            Assert.Equal(0, await db.Runs.CountAsync());
            Assert.Equal(0, await db.LlmCalls.CountAsync());
        }
    }

    [Fact]
    public async Task A_duplicate_persona_in_a_file_is_reported_with_its_line()
    {
        var file = Path.Combine(_folder, "personas.txt");
        await File.WriteAllTextAsync(file, "A nurse from Italy\nA farmer from Kenya\nA nurse from Italy\n");

        var (code, _, err) = await Cli("run", "--db", Db(), "--personas", file);

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("personas.txt:3", err);
        Assert.False(File.Exists(Db()), "nothing may be written for a request that is refused");
    }

    [Fact]
    public async Task A_database_that_cannot_be_opened_is_a_clear_error()
    {
        var (code, _, err) = await Cli("run", "--db", Path.Combine(_folder, "missing-folder", "x.db"), "--persona", "A nurse from Italy");

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("missing-folder", err);
    }

    [Fact]
    public async Task An_unknown_output_format_is_refused_before_the_run()
    {
        var (code, _, err) = await Cli("run", "--db", Db(), "--persona", "A nurse from Italy", "--output", Path.Combine(_folder, "r.xlsx"));

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(".xlsx", err);
        Assert.False(File.Exists(Db()));
    }

    [Fact]
    public async Task An_output_whose_folder_cannot_be_created_is_refused_before_the_run()
    {
        var file = Path.Combine(_folder, "taken");
        await File.WriteAllTextAsync(file, "a file, not a folder");

        var (code, _, err) = await Cli("run", "--db", Db(), "--persona", "A nurse from Italy", "--output", Path.Combine(file, "run.json"));

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("is a file", err);
        Assert.False(File.Exists(Db()));
    }

    [Fact]
    public async Task Estimate_prints_the_paper_call_counts_without_running()
    {
        var (code, stdout, _) = await Cli("run", "--db", Db(), "--persona", "A nurse from Italy", "--estimate");

        Assert.Equal(ExitCodes.Success, code);
        // Generated questions: 1 environment + 5 question calls, 50 answers, 10 exemplar calls, 2 judges × 10 = 86.
        Assert.Contains("86", stdout);
        await using var db = Open(Db());
        Assert.Equal(0, await db.Runs.CountAsync());
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 60 s");
            await Task.Delay(20);
        }
    }

    private static void SqliteCleanup() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
}
