using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PersonaGym.Core.Reports;

namespace PersonaGym.Core.Tests;

public class ReportWriterTests
{
    private const double Tolerance = 1e-12;

    [Fact]
    public void Json_has_the_run_fields_in_camel_case()
    {
        using var json = JsonDocument.Parse(RunReportWriter.ToJson(ReportSamples.Report()));
        var root = json.RootElement;

        Assert.Equal(RunReportWriter.FormatVersion, root.GetProperty("formatVersion").GetInt32());
        Assert.Equal("0f8fad5b-d9cb-469f-a165-70867728950e", root.GetProperty("runId").GetString());
        Assert.Equal("nightly", root.GetProperty("name").GetString());
        Assert.Equal("Completed", root.GetProperty("status").GetString());
        Assert.Equal(ReportSamples.Created, root.GetProperty("createdAt").GetDateTimeOffset());
        Assert.Equal(ReportSamples.Created.AddMinutes(42), root.GetProperty("completedAt").GetDateTimeOffset());
        Assert.False(root.GetProperty("offline").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("disclaimer").ValueKind);
        Assert.Equal("benchmark v1", root.GetProperty("questionSet").GetString());
        Assert.Equal(10, root.GetProperty("questionsPerTask").GetInt32());
        Assert.Equal(["judge-a", "judge-b"], root.GetProperty("judges").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal("openai:gpt-4o", root.GetProperty("questionWriter").GetString());
        Assert.Equal("openai:gpt-4o", root.GetProperty("exemplarWriter").GetString());
        Assert.Single(root.GetProperty("problems").EnumerateArray());
    }

    [Fact]
    public void Json_keeps_full_precision_and_adds_the_published_two_decimal_figures()
    {
        using var json = JsonDocument.Parse(RunReportWriter.ToJson(ReportSamples.Report()));
        var overall = json.RootElement.GetProperty("models")[0].GetProperty("overall");

        // Expected Action over personas: (4.5 + 2 + 5) / 3.
        Assert.Equal(11.5 / 3, overall.GetProperty("tasks").GetProperty("Expected Action").GetDouble(), Tolerance);
        Assert.Equal(3.83, overall.GetProperty("rounded").GetProperty("Expected Action").GetDouble());
        Assert.Equal(3.6, overall.GetProperty("personaScore").GetDouble(), Tolerance);
        Assert.Equal(3.6, overall.GetProperty("rounded").GetProperty("PersonaScore").GetDouble());
        Assert.Equal(3, overall.GetProperty("personas").GetInt32());
        Assert.Equal(2, overall.GetProperty("personasWithScore").GetInt32());
        Assert.Equal(2, overall.GetProperty("personasWithTaskScore").GetProperty("Toxicity Control").GetInt32());
        Assert.Equal(3, overall.GetProperty("parseFailures").GetInt32());
    }

    [Fact]
    public void Json_task_keys_are_the_printed_task_names_in_the_papers_order()
    {
        using var json = JsonDocument.Parse(RunReportWriter.ToJson(ReportSamples.Report()));
        var persona = json.RootElement.GetProperty("models")[0].GetProperty("personas")[0];

        Assert.Equal(PersonaTasks.All.Select(t => t.DisplayName()),
            persona.GetProperty("tasks").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Json_persona_entries_carry_scores_evidence_and_notes()
    {
        using var json = JsonDocument.Parse(RunReportWriter.ToJson(ReportSamples.Report()));
        var personas = json.RootElement.GetProperty("models")[0].GetProperty("personas");

        Assert.Equal(ReportSamples.Awkward, personas[1].GetProperty("persona").GetString());
        Assert.Equal(3.0, personas[1].GetProperty("personaScore").GetDouble(), Tolerance);
        var expectedAction = personas[1].GetProperty("tasks").GetProperty("Expected Action");
        Assert.Equal(2.0, expectedAction.GetProperty("score").GetDouble());
        Assert.Equal(1, expectedAction.GetProperty("batches").GetInt32());
        Assert.Equal(1, expectedAction.GetProperty("scoredBatches").GetInt32());
        Assert.Equal(1, expectedAction.GetProperty("items").GetInt32());
        Assert.Equal(2, expectedAction.GetProperty("judgements").GetInt32());
        Assert.Equal(1, expectedAction.GetProperty("parseFailures").GetInt32());

        Assert.Equal("Failed", personas[2].GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, personas[2].GetProperty("personaScore").ValueKind);
        Assert.Equal(JsonValueKind.Null, personas[2].GetProperty("tasks").GetProperty("Toxicity Control").GetProperty("score").ValueKind);
        Assert.Contains(personas[2].GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("No PersonaScore"));
    }

    [Fact]
    public void Json_usage_has_lines_and_totals()
    {
        using var json = JsonDocument.Parse(RunReportWriter.ToJson(ReportSamples.Report()));
        var usage = json.RootElement.GetProperty("usage");

        var totals = usage.GetProperty("totals");
        Assert.Equal(180, totals.GetProperty("calls").GetInt64());
        Assert.Equal(10, totals.GetProperty("cacheHits").GetInt64());
        Assert.Equal(112_500, totals.GetProperty("inputTokens").GetInt64());
        Assert.Equal(40_500, totals.GetProperty("outputTokens").GetInt64());
        Assert.Equal(1, totals.GetProperty("failures").GetInt64());
        var judge = usage.GetProperty("lines")[1];
        Assert.Equal("judge", judge.GetProperty("stage").GetString());
        Assert.Equal("judge-a", judge.GetProperty("model").GetString());
        Assert.Equal(30, judge.GetProperty("calls").GetInt64());
    }

    [Fact]
    public void Json_judge_validity_has_pooled_and_per_task_sections()
    {
        using var json = JsonDocument.Parse(RunReportWriter.ToJson(ReportSamples.Report()));
        var validity = json.RootElement.GetProperty("judgeValidity");

        var overall = validity.GetProperty("overall");
        Assert.Equal(15, overall.GetProperty("items").GetInt32());
        var judgeB = overall.GetProperty("judges")[1];
        Assert.Equal("judge-b", judgeB.GetProperty("judge").GetString());
        Assert.Equal(5, judgeB.GetProperty("parseFailures").GetInt32());
        Assert.Equal(1.0 / 3, judgeB.GetProperty("parseFailureRate").GetDouble(), Tolerance);
        Assert.Equal(["1", "2", "3", "4", "5"], judgeB.GetProperty("distribution").EnumerateObject().Select(p => p.Name));
        Assert.Equal(5, judgeB.GetProperty("distribution").GetProperty("5").GetInt32());
        var pair = overall.GetProperty("pairs")[0];
        Assert.Equal("judge-a", pair.GetProperty("judgeA").GetString());
        Assert.Equal(10, pair.GetProperty("items").GetInt32());
        Assert.Equal(1.0, pair.GetProperty("meanAbsoluteDifference").GetDouble(), Tolerance);
        Assert.Equal(PersonaTasks.All.Select(t => t.DisplayName()),
            validity.GetProperty("tasks").EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void Judge_validity_view_is_the_reports_own_four_fields_compact(bool offlineJudge, bool withValidity)
    {
        var report = ReportSamples.Report(offlineJudge: offlineJudge);
        if (!withValidity) report = report with { JudgeValidity = null };
        var json = RunReportWriter.ToJson(report);
        // What the Api answered before the view was typed: the report's fields picked out of its parsed text.
        var stored = JsonNode.Parse(json)!;
        var expected = new JsonObject
        {
            ["runId"] = stored["runId"]!.DeepClone(),
            ["offline"] = stored["offline"]!.DeepClone(),
            ["disclaimer"] = stored["disclaimer"]?.DeepClone(),
            ["judgeValidity"] = stored["judgeValidity"]?.DeepClone(),
        };

        var view = RunReportWriter.JudgeValidityView(json);

        var parsed = JsonNode.Parse(view)!.AsObject();
        Assert.Equal(["runId", "offline", "disclaimer", "judgeValidity"], parsed.Select(p => p.Key));
        Assert.True(JsonNode.DeepEquals(expected, parsed));
        Assert.Equal(expected.ToJsonString(), view);
        Assert.Equal(offlineJudge, parsed["offline"]!.GetValue<bool>());
        Assert.Equal(withValidity, parsed["judgeValidity"] is not null);
    }

    [Fact]
    public void Json_without_judge_validity_says_null()
    {
        var report = ReportSamples.Report() with { JudgeValidity = null, Name = null, CompletedAt = null };
        using var json = JsonDocument.Parse(RunReportWriter.ToJson(report));

        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("judgeValidity").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("name").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("completedAt").ValueKind);
    }

    [Theory]
    [InlineData("offline:echo", false)]
    [InlineData("openai:gpt-4o-mini", true)]
    public void Any_offline_model_marks_the_report_and_carries_the_disclaimer(string agent, bool offlineJudge)
    {
        var report = ReportSamples.Report(agent, offlineJudge);
        using var json = JsonDocument.Parse(RunReportWriter.ToJson(report));

        Assert.True(report.Offline);
        Assert.True(json.RootElement.GetProperty("offline").GetBoolean());
        Assert.Equal("offline model: not an evaluation", json.RootElement.GetProperty("disclaimer").GetString());
    }

    [Fact]
    public void Offline_models_named_only_in_usage_still_mark_the_report()
    {
        var report = ReportSamples.Report() with
        {
            Usage = new UsageReport([new UsageLine("exemplars", "Offline:writer", 1, 0, 1, 1, 0)]),
        };

        Assert.Equal(ReportText.OfflineDisclaimer, report.Disclaimer);
    }

    [Fact]
    public void Csv_is_one_row_per_model_and_persona_and_reads_back_to_the_same_values()
    {
        var report = ReportSamples.Report();
        var records = Csv.Parse(RunReportWriter.ToCsv(report));

        Assert.All(records, r => Assert.Null(r.Error));
        Assert.Equal(RunReportWriter.CsvHeader, records[0].Fields);
        Assert.Equal(1 + 3 + 1, records.Count);
        var awkward = records[2].Fields;
        Assert.Equal(["openai:gpt-4o-mini", ReportSamples.Awkward, "Completed", "2", "3", "1", "4", "5", "3", "1", "false", "0", "1"], awkward);
        var unscored = records[3].Fields;
        Assert.Equal("", unscored[7]); // Toxicity Control: no score
        Assert.Equal("", unscored[8]); // hence no PersonaScore
        Assert.Equal("2", unscored[9]);
        Assert.Equal("ollama:llama3.1@http://gpu:11434", records[4].Fields[0]);
    }

    [Fact]
    public void Csv_scores_keep_full_precision_in_invariant_culture()
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            var scores = ReportSamples.Scores([4, 4, 4, 4, 4], [4, 4, 4, 4, 5]); // Toxicity Control 4.5, PersonaScore 4.1
            var report = ReportSamples.Report() with
            {
                Models = [new ModelReport("m", Scoring.PersonaScoring.Aggregate([scores]), [new PersonaResult("p", "Completed", scores)])],
            };
            var row = Csv.Parse(RunReportWriter.ToCsv(report))[1].Fields;

            Assert.Equal("4.5", row[7]);
            Assert.Equal(scores.PersonaScore, double.Parse(row[8], CultureInfo.InvariantCulture));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Markdown_shows_models_usage_validity_and_problems()
    {
        var markdown = RunReportWriter.ToMarkdown(ReportSamples.Report());

        Assert.StartsWith("# PersonaGym run nightly\n", markdown);
        Assert.Contains("## Model `openai:gpt-4o-mini`", markdown);
        Assert.Contains("| Persona | Status | Expected Action | Action Justification | Linguistic Habits | Persona Consistency | Toxicity Control | PersonaScore | Parse failures |", markdown);
        Assert.Contains($"| {ReportSamples.Gardener} | Completed | 4.50 | 4.00 | 3.00 | 4.50 | 5.00 | 4.20 | 0 |", markdown);
        Assert.Contains("| **Overall** (2 of 3 personas in the means) | | **3.83** |", markdown);
        Assert.Contains("**3.60** | 3 |", markdown);
        Assert.Contains("| **Total** | | 180 | 10 | 112,500 | 40,500 | 1 |", markdown);
        Assert.Contains("| `judge-b` | 15 | 5 | 33.3 % |", markdown);
        Assert.Contains("| **All tasks** | `judge-a` vs `judge-b` | 10 |", markdown);
        Assert.Contains("- Persona 'A persona whose…' Toxicity Control batch 0: judge failed after 3 attempts", markdown);
        Assert.DoesNotContain("not an evaluation", markdown);
    }

    [Fact]
    public void Markdown_table_cells_hold_one_line_and_escaped_pipes()
    {
        var markdown = RunReportWriter.ToMarkdown(ReportSamples.Report());

        // judge-b gave no parseable Expected Action score: that task, and so the PersonaScore, rest on fewer judges (⚠).
        Assert.Contains("| A \"retired\" judge, fond of \\| pipes, and new lines | Completed | 2.00 ⚠ |", markdown);
        Assert.Contains("| 3.00 ⚠ | 1 | 1 judge verdict set |", markdown);
        Assert.Contains("incomplete ones included", markdown);
    }

    [Fact]
    public void Markdown_of_an_offline_run_opens_with_the_disclaimer_in_bold()
    {
        var markdown = RunReportWriter.ToMarkdown(ReportSamples.Report("offline:echo"));
        var lines = markdown.Split('\n');

        Assert.StartsWith("**Offline model: not an evaluation.**", lines[2]);
    }

    [Fact]
    public void Markdown_without_judge_validity_or_problems_says_so()
    {
        var markdown = RunReportWriter.ToMarkdown(ReportSamples.Report() with { JudgeValidity = null, Problems = [] });

        Assert.Contains("## Judge validity\n\nNot computed for this run.", markdown);
        Assert.EndsWith("## Problems\n\nNone.\n", markdown);
    }

    [Theory]
    [InlineData("run.json", "json")]
    [InlineData("run.CSV", "csv")]
    [InlineData("run.md", "markdown")]
    [InlineData("run.markdown", "markdown")]
    public void Write_picks_the_format_by_extension(string file, string format)
    {
        using var folder = new BenchmarkFixture();
        var path = Path.Combine(folder.Directory, "nested", file);
        var report = ReportSamples.Report();

        Assert.Equal(format, RunReportWriter.Write(report, path));
        var expected = format switch
        {
            "json" => RunReportWriter.ToJson(report),
            "csv" => RunReportWriter.ToCsv(report),
            _ => RunReportWriter.ToMarkdown(report),
        };
        Assert.Equal(expected, File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left
    }

    [Fact]
    public void Write_replaces_an_existing_file()
    {
        using var folder = new BenchmarkFixture();
        var path = folder.File("run.csv", "old content that is longer than nothing");

        RunReportWriter.Write(ReportSamples.Report(), path);

        Assert.Equal(RunReportWriter.ToCsv(ReportSamples.Report()), File.ReadAllText(path));
    }

    [Theory]
    [InlineData("run.txt")]
    [InlineData("run")]
    public void Write_refuses_an_unknown_extension_and_names_the_valid_ones(string file)
    {
        using var folder = new BenchmarkFixture();
        var path = Path.Combine(folder.Directory, file);

        var error = Assert.Throws<ArgumentException>(() => RunReportWriter.Write(ReportSamples.Report(), path));

        Assert.Contains(".json, .csv, .md, .markdown", error.Message);
        Assert.False(File.Exists(path));
    }
}
