using System.Globalization;
using PersonaGym.Core;
using PersonaGym.Core.Reports;
using PersonaGym.Core.Statistics;

namespace PersonaGym.Cli.Benchmark;

/// <summary>What <see cref="HumanScoreCsv.Read"/> found: the usable scores, and every bad row by line.</summary>
public sealed record HumanScoreReadResult(IReadOnlyList<HumanScore> Scores, IReadOnlyList<string> Problems)
{
    public bool IsValid => Problems.Count == 0;
}

/// <summary>
/// People's scores for answers, as a CSV with a header naming the columns <c>persona</c>, <c>task</c>,
/// <c>question</c> and <c>score</c> (any order, any case; other columns are ignored). A task may be written as the
/// paper prints it, as the benchmark's key or as a slug; a score is a number from 1 to 5 (a decimal point, no
/// thousands separator). Reading never stops at the first bad row: every one is reported with its line.
/// </summary>
public static class HumanScoreCsv
{
    public static IReadOnlyList<string> Columns { get; } = ["persona", "task", "question", "score"];

    public static HumanScoreReadResult Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new([], [$"{path}: cannot be read: {ex.Message}"]);
        }

        return Parse(text);
    }

    public static HumanScoreReadResult Parse(string text)
    {
        var records = Csv.Parse(text);
        if (records.Count == 0) return new([], ["the file is empty: expected a header line with persona, task, question, score"]);

        var header = records[0];
        var problems = new List<string>();
        if (header.Error is not null) problems.Add($"line {header.Line}: {header.Error}");
        var index = Columns.ToDictionary(c => c, c => header.Fields.ToList().FindIndex(f => string.Equals(f.Trim(), c, StringComparison.OrdinalIgnoreCase)));
        var missing = index.Where(c => c.Value < 0).Select(c => c.Key).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"line {header.Line}: the header has no column {string.Join(", ", missing)} (it needs {string.Join(", ", Columns)})");
            return new([], problems);
        }

        var scores = new List<HumanScore>();
        foreach (var record in records.Skip(1))
        {
            var at = $"line {record.Line}";
            if (record.Error is not null)
            {
                problems.Add($"{at}: {record.Error}");
                continue;
            }

            var rowProblems = new List<string>();
            string Field(string column)
            {
                var i = index[column];
                return i < record.Fields.Count ? record.Fields[i].Trim() : "";
            }

            var persona = Field("persona");
            var question = Field("question");
            var taskText = Field("task");
            var scoreText = Field("score");
            if (persona.Length == 0) rowProblems.Add("the persona is empty");
            if (question.Length == 0) rowProblems.Add("the question is empty");
            if (!PersonaTasks.TryParse(taskText, out var task))
                rowProblems.Add($"unknown task '{taskText}' (the tasks: {string.Join(", ", PersonaTasks.All.Select(t => t.DisplayName()))})");
            if (!double.TryParse(scoreText, NumberStyles.Float, CultureInfo.InvariantCulture, out var score) || !double.IsFinite(score))
                rowProblems.Add($"the score '{scoreText}' is not a number");
            else if (score is < 1 or > 5)
                rowProblems.Add($"the score {scoreText} is outside the rubric's 1-5");

            if (rowProblems.Count > 0)
            {
                problems.Add($"{at}: {string.Join("; ", rowProblems)}");
                continue;
            }

            scores.Add(new HumanScore(persona, task, question, score));
        }

        if (scores.Count == 0 && problems.Count == 0) problems.Add("the file has a header but no scores");
        return new(scores, problems);
    }
}
