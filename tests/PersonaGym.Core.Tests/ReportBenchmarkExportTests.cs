using System.Text.Json.Nodes;
using PersonaGym.Core.Benchmark;
using PersonaGym.Core.Reports;

namespace PersonaGym.Core.Tests;

public class ReportBenchmarkExportTests
{
    [Fact]
    public void Writes_scores_and_personas_per_model_then_judge_validity()
    {
        using var folder = new BenchmarkFixture();
        var target = Path.Combine(folder.Directory, "exports");

        var written = BenchmarkExport.WriteModelExports(ReportSamples.Report(), target);

        Assert.Equal(
        [
            Path.Combine(target, "openai-gpt-4o-mini.scores.json"),
            Path.Combine(target, "openai-gpt-4o-mini.personas.csv"),
            Path.Combine(target, "ollama-llama3.1-http-gpu-11434.scores.json"),
            Path.Combine(target, "ollama-llama3.1-http-gpu-11434.personas.csv"),
            Path.Combine(target, "judge-validity.json"),
        ], written);
        Assert.Equal(written.Order(), Directory.GetFiles(target).Order());
    }

    [Fact]
    public void Scores_file_is_the_original_published_shape_and_reads_back()
    {
        using var folder = new BenchmarkFixture();
        var report = ReportSamples.Report();

        var scoresFile = BenchmarkExport.WriteModelExports(report, folder.Directory)[0];

        Assert.Equal(BenchmarkFormat.ScoresJson(report.Models[0].Overall), File.ReadAllText(scoresFile));
        var scores = BenchmarkFormat.ReadScores(scoresFile);
        Assert.Equal(BenchmarkFormat.ScoreKeys, scores.Keys);
        Assert.Equal(3.83, scores["Expected Action"]);
        Assert.Equal(3.6, scores["PersonaScore"]);
    }

    [Fact]
    public void Personas_csv_has_one_row_per_persona_and_task()
    {
        var records = Csv.Parse(BenchmarkExport.PersonasCsv(ReportSamples.Report().Models[0]));

        Assert.Equal(BenchmarkExport.PersonasCsvHeader, records[0].Fields);
        Assert.Equal(1 + 3 * 5, records.Count);
        // The last column says which personas the model's means count: judge-b gave nothing usable on the awkward
        // persona's Expected Action, and the unscored one has no PersonaScore.
        Assert.Equal("true", records[1].Fields[^1]);
        Assert.Equal([ReportSamples.Awkward, "Expected Action", "2", "2", "1", "false"], records[6].Fields);
        Assert.Equal([ReportSamples.Unscored, "Toxicity Control", "", "2", "2", "false"], records[15].Fields);
    }

    [Fact]
    public void Judge_validity_file_is_the_reports_section()
    {
        using var folder = new BenchmarkFixture();
        var report = ReportSamples.Report();

        var file = BenchmarkExport.WriteModelExports(report, folder.Directory)[^1];

        var section = JsonNode.Parse(File.ReadAllText(file));
        var whole = JsonNode.Parse(RunReportWriter.ToJson(report))!;
        Assert.True(JsonNode.DeepEquals(whole["judgeValidity"], section));
        Assert.NotNull(section?["overall"]);
    }

    [Fact]
    public void No_judge_validity_file_without_judge_validity()
    {
        using var folder = new BenchmarkFixture();

        var written = BenchmarkExport.WriteModelExports(ReportSamples.Report() with { JudgeValidity = null }, folder.Directory);

        Assert.DoesNotContain(written, f => f.EndsWith(BenchmarkExport.JudgeValidityFile, StringComparison.Ordinal));
        Assert.Equal(4, written.Count);
    }

    [Theory]
    [InlineData("openai:gpt-4o-mini", "openai-gpt-4o-mini")]
    [InlineData("azure-openai:my deployment@https://x.openai.azure.com/", "azure-openai-my-deployment-https-x.openai.azure.com")]
    [InlineData("..hidden", "hidden")]
    [InlineData("::", "model")]
    [InlineData("ü", "model")]
    public void Model_file_names_keep_only_portable_characters(string model, string expected)
    {
        Assert.Equal([expected], BenchmarkExport.ModelFileNames([model]));
    }

    [Fact]
    public void Colliding_model_file_names_are_numbered_ignoring_case()
    {
        Assert.Equal(["openai-gpt-4o", "OpenAI-GPT-4o-2", "openai-gpt-4o-3"],
            BenchmarkExport.ModelFileNames(["openai:gpt-4o", "OpenAI/GPT-4o", "openai@gpt-4o"]));
    }

    [Fact]
    public void Long_model_names_are_cut_to_a_safe_file_name_length()
    {
        var name = Assert.Single(BenchmarkExport.ModelFileNames([new string('a', 400)]));

        Assert.Equal(120, name.Length);
    }
}
