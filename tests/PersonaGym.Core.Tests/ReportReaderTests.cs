using System.Text.Json.Nodes;
using PersonaGym.Core.Reports;

namespace PersonaGym.Core.Tests;

public class ReportReaderTests
{
    private static string ReportFile(BenchmarkFixture folder, Action<JsonNode>? edit = null)
    {
        var path = Path.Combine(folder.Directory, "run.json");
        RunReportWriter.Write(ReportSamples.Report(), path);
        if (edit is not null)
        {
            var json = JsonNode.Parse(File.ReadAllText(path))!;
            edit(json);
            File.WriteAllText(path, json.ToJsonString());
        }
        return path;
    }

    [Fact]
    public void A_written_report_reads_back_equal()
    {
        using var folder = new BenchmarkFixture();
        var report = ReportSamples.Report() with { Warnings = ["Only one judge."] };
        var path = Path.Combine(folder.Directory, "run.json");
        RunReportWriter.Write(report, path);

        var read = RunReportReader.ReadFile(path);

        Assert.Equivalent(report, read, strict: true);
        Assert.Equal(report.CreatedAt.Offset, read.CreatedAt.Offset);
        Assert.Equal(File.ReadAllText(path), RunReportWriter.ToJson(read));
    }

    [Fact]
    public void A_report_without_judge_validity_name_or_completion_reads_back_equal()
    {
        var report = ReportSamples.Report() with { JudgeValidity = null, Name = null, CompletedAt = null, Problems = [] };

        Assert.Equivalent(report, RunReportReader.FromJson(RunReportWriter.ToJson(report)), strict: true);
    }

    [Fact]
    public void Json_times_are_the_round_trip_form_with_seven_fraction_digits()
    {
        var json = RunReportWriter.ToJson(ReportSamples.Report());

        Assert.Contains("\"createdAt\": \"2025-03-04T05:06:07.0000000+01:00\"", json);
        Assert.Contains("\"completedAt\": \"2025-03-04T05:48:07.0000000+01:00\"", json);
    }

    [Fact]
    public void Json_fields_are_in_the_documented_order()
    {
        var root = JsonNode.Parse(RunReportWriter.ToJson(ReportSamples.Report()))!.AsObject();

        Assert.Equal(
            ["formatVersion", "runId", "name", "status", "createdAt", "completedAt", "offline", "disclaimer", "questionSet",
             "questionsPerTask", "judges", "questionWriter", "environments", "exemplarWriter", "models", "usage", "judgeValidity", "problems", "warnings"],
            root.Select(p => p.Key));
        Assert.Equal(
            ["personaScore", "tasks", "personas", "personasWithScore", "completePersonas", "personasLeftOut", "includesIncompletePersonas",
             "personasWithTaskScore", "parseFailures", "rounded"],
            root["models"]![0]!["overall"]!.AsObject().Select(p => p.Key));
        Assert.Equal(
            ["score", "batches", "scoredBatches", "expectedBatches", "missingBatches", "missingJudgements", "complete", "items", "judgements", "parseFailures"],
            root["models"]![0]!["personas"]![0]!["tasks"]!["Expected Action"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public void A_file_missing_a_required_field_is_refused_naming_the_file_the_place_and_the_field()
    {
        using var folder = new BenchmarkFixture();
        var path = ReportFile(folder, json => json["models"]![0]!["personas"]![1]!.AsObject().Remove("status"));

        var error = Assert.Throws<FormatException>(() => RunReportReader.ReadFile(path));

        Assert.StartsWith($"{path} is not a PersonaGym run report: $.models[0].personas[1] (line 1) lacks the required field 'status'.", error.Message);
    }

    [Fact]
    public void A_file_with_a_value_of_the_wrong_type_is_refused_saying_what_was_expected()
    {
        using var folder = new BenchmarkFixture();
        var path = ReportFile(folder, json => json["questionsPerTask"] = "ten");

        var error = Assert.Throws<FormatException>(() => RunReportReader.ReadFile(path));

        Assert.Equal($"{path} is not a PersonaGym run report: $.questionsPerTask (line 1) is a string; a whole number is expected.", error.Message);
    }

    [Theory]
    [InlineData("status", "$.status (line 1) is null; a string is expected.")]
    [InlineData("runId", "$.runId (line 1) is \"x\"; a GUID")]
    [InlineData("createdAt", "$.createdAt (line 1) is \"x\"; an ISO 8601 time with offset")]
    [InlineData("judges", "$.judges (line 1) is a number; an array is expected.")]
    public void Wrong_values_are_named_by_their_path(string field, string expected)
    {
        var json = JsonNode.Parse(RunReportWriter.ToJson(ReportSamples.Report()))!;
        json[field] = field switch { "status" => null, "judges" => 3, _ => "x" };

        var error = Assert.Throws<FormatException>(() => RunReportReader.FromJson(json.ToJsonString()));

        Assert.StartsWith("Not a PersonaGym run report: " + expected, error.Message);
    }

    [Fact]
    public void A_persona_without_all_five_tasks_is_refused()
    {
        var json = JsonNode.Parse(RunReportWriter.ToJson(ReportSamples.Report()))!;
        json["models"]![1]!["personas"]![0]!["tasks"]!.AsObject().Remove("Toxicity Control");

        var error = Assert.Throws<FormatException>(() => RunReportReader.FromJson(json.ToJsonString(), "run.json"));

        Assert.Equal("run.json is not a PersonaGym run report: $.models[1].personas[0].tasks lacks the task 'Toxicity Control' (every persona has all five).", error.Message);
    }

    [Fact]
    public void A_null_in_a_list_is_refused()
    {
        var json = JsonNode.Parse(RunReportWriter.ToJson(ReportSamples.Report()))!;
        json["models"]![0]!["personas"]![1] = null;

        var error = Assert.Throws<FormatException>(() => RunReportReader.FromJson(json.ToJsonString()));

        Assert.Equal("Not a PersonaGym run report: $.models[0].personas[1] is null.", error.Message);
    }

    [Fact]
    public void A_foreign_json_file_is_refused_as_not_a_report()
    {
        using var folder = new BenchmarkFixture();
        // The benchmark's score file: JSON, but another format.
        var scores = BenchmarkExport.WriteModelExports(ReportSamples.Report(), folder.Directory)[0];

        var error = Assert.Throws<FormatException>(() => RunReportReader.ReadFile(scores));

        Assert.StartsWith($"{scores} is not a PersonaGym run report: the top level (line ", error.Message);
        Assert.Contains("lacks the required fields 'formatVersion', 'runId', 'status',", error.Message);
    }

    [Theory]
    [InlineData("", "the text is empty.")]
    [InlineData("{\"formatVersion\": 1,", "it is not valid JSON (line 1): ")]
    [InlineData("[1, 2]", "the top level (line 1) is an array; an object is expected.")]
    [InlineData("null", "the top level is null; an object is expected.")]
    public void Text_that_is_no_report_object_is_refused(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => RunReportReader.FromJson(text, "run.json"));

        Assert.StartsWith("run.json is not a PersonaGym run report: " + expected, error.Message);
    }

    [Fact]
    public void A_newer_format_version_is_refused_by_its_version_even_when_its_fields_changed()
    {
        var json = JsonNode.Parse(RunReportWriter.ToJson(ReportSamples.Report()))!;
        json["formatVersion"] = 2;
        json["models"] = "moved elsewhere";

        var error = Assert.Throws<FormatException>(() => RunReportReader.FromJson(json.ToJsonString(), "run.json"));

        Assert.Equal("run.json has format version 2; this version of PersonaGym reads up to 1.", error.Message);
    }

    [Fact]
    public void A_report_written_before_the_completeness_fields_still_reads()
    {
        var json = JsonNode.Parse(RunReportWriter.ToJson(ReportSamples.Report()))!;
        json.AsObject().Remove("warnings");
        var overall = json["models"]![0]!["overall"]!.AsObject();
        foreach (var field in new[] { "completePersonas", "personasLeftOut", "includesIncompletePersonas" }) overall.Remove(field);
        var persona = json["models"]![0]!["personas"]![0]!.AsObject();
        persona.Remove("failure");
        var task = persona["tasks"]!["Expected Action"]!.AsObject();
        foreach (var field in new[] { "expectedBatches", "missingBatches", "missingJudgements" }) task.Remove(field);

        var read = RunReportReader.FromJson(json.ToJsonString());

        Assert.Empty(read.Warnings);
        Assert.Equal(0, read.Models[0].Overall.CompletePersonas);
        Assert.False(read.Models[0].Overall.IncludesIncomplete);
        var expectedAction = read.Models[0].Personas[0].Scores[PersonaTask.ExpectedAction];
        Assert.Equal(expectedAction.Batches, expectedAction.ExpectedBatches);
        Assert.Equal(0, expectedAction.MissingBatches);
    }

    [Fact]
    public void Derived_fields_are_recomputed_not_read()
    {
        var report = ReportSamples.Report();
        var json = JsonNode.Parse(RunReportWriter.ToJson(report))!;
        json["offline"] = true;
        json["disclaimer"] = "made up";
        json["usage"]!.AsObject().Remove("totals");
        json["models"]![0]!["overall"]!.AsObject().Remove("rounded");
        json["models"]![0]!["personas"]![0]!["complete"] = false;

        var read = RunReportReader.FromJson(json.ToJsonString());

        Assert.False(read.Offline);
        Assert.Equal(RunReportWriter.ToJson(report), RunReportWriter.ToJson(read));
    }
}
