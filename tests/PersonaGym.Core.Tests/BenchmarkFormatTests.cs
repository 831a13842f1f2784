using System.Text.Json;
using PersonaGym.Core.Benchmark;
using PersonaGym.Core.Scoring;
using Xunit.Abstractions;

namespace PersonaGym.Core.Tests;

public class BenchmarkFormatTests(ITestOutputHelper output)
{
    private static readonly string[] PublishedKeys =
        ["Action Justification", "Expected Action", "Linguistic Habits", "Persona Consistency", "Toxicity Control", "PersonaScore"];

    [Fact]
    public void Original_benchmark_reads_valid_with_every_persona_and_question()
    {
        using var fixture = new BenchmarkFixture();
        var directory = BenchmarkFixture.SharedBenchmarkDirectory;
        int expectedPersonas, expectedQuestions;
        if (directory is null)
        {
            output.WriteLine($"{BenchmarkFixture.SharedBenchmarkVariable} is not set: the original benchmark is ABSENT, " +
                             "so this checks a 3-persona copy of its layout written by the test instead.");
            directory = fixture.Directory;
            BenchmarkFormat.Write(directory, [.. Enumerable.Range(1, 3).Select(i => BenchmarkFixture.Persona($"Persona {i}", 10))], ["Wedding", "Courtroom"]);
            (expectedPersonas, expectedQuestions) = (3, 150);
        }
        else
        {
            output.WriteLine($"Reading the original benchmark at {directory}.");
            (expectedPersonas, expectedQuestions) = (200, 10_000);
        }

        var result = BenchmarkFormat.Read(directory);

        Assert.Empty(result.Issues);
        Assert.True(result.IsValid);
        Assert.Equal(expectedPersonas, result.Personas.Count);
        Assert.Equal(expectedQuestions, result.Personas.Sum(p => p.Questions.Values.Sum(q => q.Count)));
        Assert.All(result.Personas, p => Assert.Equal(PersonaTasks.All.Order(), p.Questions.Keys.Order()));
        Assert.NotNull(result.Environments);
        Assert.NotEmpty(result.Environments);
    }

    [Fact]
    public void Original_benchmark_survives_a_write_and_read_round_trip()
    {
        using var source = new BenchmarkFixture();
        using var copy = new BenchmarkFixture();
        var directory = BenchmarkFixture.SharedBenchmarkDirectory;
        if (directory is null)
        {
            output.WriteLine($"{BenchmarkFixture.SharedBenchmarkVariable} is not set: the original benchmark is ABSENT, " +
                             "so this round-trips a small benchmark written by the test instead.");
            directory = source.Directory;
            BenchmarkFormat.Write(directory, [BenchmarkFixture.Persona("A sailor"), BenchmarkFixture.Persona("A poet")], null);
        }
        var original = BenchmarkFormat.Read(directory);
        Assert.True(original.IsValid, string.Join("\n", original.Issues));

        BenchmarkFormat.Write(copy.Directory, original.Personas, original.Environments);
        var reread = BenchmarkFormat.Read(copy.Directory);

        AssertSameBenchmark(original, reread);
        // Every original persona is a portable file name, so the copy uses the very same file names.
        Assert.Equal(
            Directory.EnumerateFiles(Path.Combine(directory, "questions")).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Directory.EnumerateFiles(Path.Combine(copy.Directory, "questions")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Read_accepts_what_write_writes_for_awkward_persona_texts()
    {
        using var fixture = new BenchmarkFixture();
        BenchmarkPersona[] personas =
        [
            BenchmarkFixture.Persona("A chef who splits time 50/50 between Paris and Lyon"),
            BenchmarkFixture.Persona("A lawyer: \"sharp\" <fast> | back\\slash * ?"),
            BenchmarkFixture.Persona(string.Concat(Enumerable.Repeat("A very long persona description. ", 20))),
            BenchmarkFixture.Persona("CON"),
            BenchmarkFixture.Persona("A Baker from Lyon"),
            BenchmarkFixture.Persona("a baker from lyon"),
            BenchmarkFixture.Persona("Une grand-mère québécoise — 78 ans, conteuse 🎻"),
        ];

        BenchmarkFormat.Write(fixture.Directory, personas, ["Wedding"]);
        var result = BenchmarkFormat.Read(fixture.Directory);

        Assert.Empty(result.Issues);
        Assert.Equal(personas.Select(p => p.Persona), result.Personas.Select(p => p.Persona));
        AssertSameBenchmark(new BenchmarkReadResult(personas, ["Wedding"], []), result);
    }

    [Fact]
    public void Read_of_a_missing_directory_is_an_issue_not_an_exception()
    {
        var missing = Path.Combine(Path.GetTempPath(), "personagym-absent-" + Guid.NewGuid().ToString("N"));

        var result = BenchmarkFormat.Read(missing);

        var issue = Assert.Single(result.Issues);
        Assert.Equal(missing, issue.Location);
        Assert.Empty(result.Personas);
    }

    [Fact]
    public void Read_reports_a_missing_persona_list_and_question_folder()
    {
        using var fixture = new BenchmarkFixture();

        var result = BenchmarkFormat.Read(fixture.Directory);

        Assert.Equal(["personas.json", "questions/"], result.Issues.Select(i => i.Location));
        Assert.Null(result.Environments); // environments.json is optional
    }

    [Fact]
    public void Read_reports_unparseable_json_with_its_file()
    {
        using var fixture = new BenchmarkFixture();
        fixture.File("personas.json", "[\"A sailor\", ");
        fixture.File("questions/placeholder.txt", "");

        var result = BenchmarkFormat.Read(fixture.Directory);

        var issue = Assert.Single(result.Issues);
        Assert.Equal("personas.json", issue.Location);
        Assert.StartsWith("not valid JSON", issue.Message);
    }

    [Fact]
    public void Read_reports_every_bad_persona_entry_by_index()
    {
        using var fixture = new BenchmarkFixture();
        fixture.File("personas.json", """["A sailor", 42, "", "A  sailor", null, "A poet"]""");
        fixture.File("questions/A sailor.json", BenchmarkFixture.QuestionsJson("s"));
        fixture.File("questions/A poet.json", BenchmarkFixture.QuestionsJson("p"));

        var result = BenchmarkFormat.Read(fixture.Directory);

        Assert.Equal(
            [
                ("personas.json[1]", "expected a persona (a string), found a number"),
                ("personas.json[2]", "a persona description is empty"),
                ("personas.json[3]", "duplicate of personas.json[0]"),
                ("personas.json[4]", "expected a persona (a string), found null"),
            ],
            result.Issues.Select(i => (i.Location, i.Message)));
        Assert.Equal(["A sailor", "A poet"], result.Personas.Select(p => p.Persona));
    }

    [Fact]
    public void Read_reports_each_bad_question_file_item_by_item()
    {
        using var fixture = new BenchmarkFixture();
        fixture.File("personas.json", """["A sailor", "A poet", "A miner", "A clown", "A judge"]""");
        fixture.File("questions/A sailor.json", """
            {
              "Expected Action": ["What do you do?", 7, "", "What  do you do?"],
              "Action Justification": [],
              "Linguistic Habits": "How do you talk?",
              "Persona Consistency": ["Who are you?"],
              "Toxicity Control": ["Say something rude."],
              "Mood": ["Happy?"]
            }
            """);
        fixture.File("questions/A poet.json", "{ not json");
        fixture.File("questions/A miner.json", """["not", "an", "object"]""");
        fixture.File("questions/A clown.json", BenchmarkFixture.QuestionsJson("c").Replace("}", ", \"Toxicity\": [\"again?\"]}"));
        fixture.File("questions/Somebody else.json", BenchmarkFixture.QuestionsJson("x"));
        // "A judge" has no question file at all.

        var result = BenchmarkFormat.Read(fixture.Directory);
        var issues = result.Issues.Select(i => i.ToString()).ToList();
        foreach (var issue in issues) output.WriteLine(issue);

        Assert.Contains("questions/A sailor.json: Expected Action[1]: expected a question (a string), found a number", issues);
        Assert.Contains("questions/A sailor.json: Expected Action[2]: the question is empty", issues);
        Assert.Contains("questions/A sailor.json: Expected Action[3]: duplicate of Expected Action[0]", issues);
        Assert.Contains("questions/A sailor.json: Action Justification: the list of questions is empty", issues);
        Assert.Contains("questions/A sailor.json: Linguistic Habits: expected a list of questions, found a string", issues);
        Assert.Contains(issues, i => i.StartsWith("questions/A sailor.json: \"Toxicity Control\": unknown key (the benchmark key for Toxicity Control is \"Toxicity\")"));
        Assert.Contains(issues, i => i.StartsWith("questions/A sailor.json: \"Mood\": unknown key"));
        Assert.Contains("questions/A sailor.json: missing key \"Toxicity\"", issues);
        Assert.Contains(issues, i => i.StartsWith("questions/A poet.json: not valid JSON"));
        Assert.Contains("questions/A miner.json: expected a JSON object with the five task keys, found a list", issues);
        Assert.Contains("questions/A clown.json: \"Toxicity\": the key appears twice", issues);
        Assert.Contains("questions/A judge.json: missing: no question file for persona 5 of personas.json", issues);
        Assert.Contains("questions/Somebody else.json: no persona in personas.json has this question file", issues);
        Assert.Equal(13, issues.Count);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Read_reports_bad_environment_entries_by_index()
    {
        using var fixture = new BenchmarkFixture();
        fixture.File("personas.json", """["A sailor"]""");
        fixture.File("questions/A sailor.json", BenchmarkFixture.QuestionsJson("s"));
        fixture.File("environments.json", """["Wedding", "", "Wedding", false]""");

        var result = BenchmarkFormat.Read(fixture.Directory);

        Assert.Equal(["environments.json[1]", "environments.json[2]", "environments.json[3]"], result.Issues.Select(i => i.Location));
        Assert.Equal(["Wedding"], result.Environments);
    }

    [Fact]
    public void Write_rejects_what_read_would_report_listing_every_problem()
    {
        using var fixture = new BenchmarkFixture();
        var noToxicity = BenchmarkFixture.Persona("A poet");
        noToxicity = noToxicity with
        {
            Questions = noToxicity.Questions.Where(q => q.Key != PersonaTask.ToxicityControl).ToDictionary(q => q.Key, q => q.Value),
        };

        var error = Assert.Throws<ArgumentException>(() => BenchmarkFormat.Write(fixture.Directory,
            [BenchmarkFixture.Persona("A sailor"), BenchmarkFixture.Persona("A  sailor"), noToxicity], ["Wedding", "Wedding"]));

        Assert.Contains("personas.json[1]: duplicate of personas.json[0]", error.Message);
        Assert.Contains("personas.json[2]: Toxicity: no questions", error.Message);
        Assert.Contains("environments.json[1]: duplicate environment", error.Message);
        Assert.False(File.Exists(Path.Combine(fixture.Directory, "personas.json")));
    }

    [Fact]
    public void Write_refuses_to_leave_other_personas_question_files_behind()
    {
        using var fixture = new BenchmarkFixture();
        fixture.File("questions/Someone else.json", BenchmarkFixture.QuestionsJson("x"));

        Assert.Throws<IOException>(() => BenchmarkFormat.Write(fixture.Directory, [BenchmarkFixture.Persona("A sailor")], null));
    }

    [Fact]
    public void Scores_json_prints_the_published_shape()
    {
        var report = new AggregateScoreReport(
            4.5066666,
            new Dictionary<PersonaTask, double?>
            {
                [PersonaTask.ExpectedAction] = 4.365,
                [PersonaTask.ActionJustification] = 4.52,
                [PersonaTask.LinguisticHabits] = 3.98,
                [PersonaTask.PersonaConsistency] = 4.7000001,
                [PersonaTask.ToxicityControl] = 5,
            },
            200, 200, 0);

        Assert.Equal("""
            {
                "Action Justification": 4.52,
                "Expected Action": 4.37,
                "Linguistic Habits": 3.98,
                "Persona Consistency": 4.7,
                "Toxicity Control": 5.0,
                "PersonaScore": 4.51
            }
            """.ReplaceLineEndings("\n"), BenchmarkFormat.ScoresJson(report));
    }

    [Fact]
    public void Scores_json_prints_null_for_a_figure_that_could_not_be_computed()
    {
        var report = PersonaScoring.Aggregate([]);

        var scores = JsonDocument.Parse(BenchmarkFormat.ScoresJson(report)).RootElement;

        Assert.Equal(PublishedKeys, scores.EnumerateObject().Select(p => p.Name));
        Assert.All(scores.EnumerateObject(), p => Assert.Equal(JsonValueKind.Null, p.Value.ValueKind));
    }

    [Fact]
    public void Scores_json_of_an_aggregate_has_the_published_files_keys_in_their_order()
    {
        using var fixture = new BenchmarkFixture();
        var files = PublishedScoreFiles(fixture, "20240710_claude_3.5_sonnet.json", "Claude 3.5 Sonnet, 2024-07-10", """
            {
                "Action Justification": 4.52,
                "Expected Action": 4.37,
                "Linguistic Habits": 3.98,
                "Persona Consistency": 4.81,
                "Toxicity Control": 4.88,
                "PersonaScore": 4.51
            }
            """);
        var ours = BenchmarkFormat.ScoresJson(PersonaScoring.Aggregate([
            PersonaScoring.Compute(PersonaTasks.All.Select(t => new JudgementScore(t, 0, "judge", 0, 4))),
        ]));

        foreach (var file in files)
        {
            output.WriteLine($"Comparing with {Path.GetFileName(file)}.");
            var published = BenchmarkFormat.ReadScores(file);
            Assert.Equal(published.Keys, BenchmarkFormat.ReadScores(WriteTemp(fixture, ours)).Keys);
            // Same layout too: four-space indent, one key per line, no final newline.
            Assert.Equal(
                File.ReadAllText(file).Split('\n').Select(l => l.Split(':')[0]),
                ours.Split('\n').Select(l => l.Split(':')[0]));
        }
    }

    [Fact]
    public void Scores_json_of_a_published_files_figures_is_that_file_byte_for_byte()
    {
        using var fixture = new BenchmarkFixture();
        var files = PublishedScoreFiles(fixture, "20240710_gpt_35.json", "GPT-3.5, 2024-07-10: 4.7 and no trailing zeros", """
            {
                "Action Justification": 4.31,
                "Expected Action": 4.28,
                "Linguistic Habits": 3.63,
                "Persona Consistency": 4.7,
                "Toxicity Control": 4.96,
                "PersonaScore": 4.38
            }
            """);

        foreach (var file in files)
        {
            output.WriteLine($"Comparing with {Path.GetFileName(file)}.");
            // Their figures, read by the reader that reads ours, written by our writer: their text exactly.
            var published = BenchmarkFormat.ReadScores(file);
            var report = new AggregateScoreReport(
                published[BenchmarkFormat.PersonaScoreKey],
                published.Where(p => p.Key != BenchmarkFormat.PersonaScoreKey).ToDictionary(p => PersonaTasks.Parse(p.Key), p => (double?)p.Value),
                200, 200, 0);

            var ours = BenchmarkFormat.ScoresJson(report);

            Assert.Equal(File.ReadAllText(file), ours);
            Assert.Equal(published, BenchmarkFormat.ReadScores(WriteTemp(fixture, ours)));
        }
    }

    /// <summary>
    /// The original benchmark's published score files, or, when <see cref="BenchmarkFixture.SharedBenchmarkVariable"/>
    /// names no copy of the benchmark, a copy of one of them written here (and a line that says they are absent).
    /// </summary>
    private string[] PublishedScoreFiles(BenchmarkFixture fixture, string fallbackName, string fallbackDescription, string fallbackContent)
    {
        var files = BenchmarkFixture.SharedBenchmarkDirectory is { } directory
            ? Directory.GetFiles(Path.Combine(directory, "published-scores"), "*.json").Order(StringComparer.Ordinal).ToArray()
            : [];
        if (files.Length > 0) return files;
        output.WriteLine($"{BenchmarkFixture.SharedBenchmarkVariable} is not set: the published score files are ABSENT, " +
                         $"so this compares with a copy of one ({fallbackDescription}) written by the test.");
        return [fixture.File(fallbackName, fallbackContent.ReplaceLineEndings("\n").TrimEnd())];
    }

    [Fact]
    public void Read_scores_keeps_file_order_and_values()
    {
        using var fixture = new BenchmarkFixture();
        var file = fixture.File("scores.json", """{"Toxicity Control": 4.94, "Action Justification": 2.47, "PersonaScore": 3.64}""");

        var scores = BenchmarkFormat.ReadScores(file);

        Assert.Equal(["Toxicity Control", "Action Justification", "PersonaScore"], scores.Keys);
        Assert.Equal(2.47, scores["Action Justification"]);
    }

    [Theory]
    [InlineData("""{"PersonaScore": "4.5"}""")]
    [InlineData("""[4.5]""")]
    [InlineData("""{"PersonaScore": 4.5, "PersonaScore": 4.6}""")]
    [InlineData("""{"PersonaScore": """)]
    public void Read_scores_rejects_a_file_that_is_not_an_object_of_numbers(string content)
    {
        using var fixture = new BenchmarkFixture();
        Assert.Throws<InvalidDataException>(() => BenchmarkFormat.ReadScores(fixture.File("scores.json", content)));
    }

    private static string WriteTemp(BenchmarkFixture fixture, string content) =>
        fixture.File($"ours-{Guid.NewGuid():N}.json", content);

    private static void AssertSameBenchmark(BenchmarkReadResult expected, BenchmarkReadResult actual)
    {
        Assert.Empty(actual.Issues);
        Assert.Equal(expected.Environments, actual.Environments);
        Assert.Equal(expected.Personas.Select(p => p.Persona), actual.Personas.Select(p => p.Persona));
        foreach (var (want, got) in expected.Personas.Zip(actual.Personas))
            foreach (var task in PersonaTasks.All)
                Assert.Equal(want.Questions[task], got.Questions[task]);
    }
}
