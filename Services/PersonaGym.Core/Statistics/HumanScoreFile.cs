using System.Globalization;
using PersonaGym.Core.Reports;

namespace PersonaGym.Core.Statistics;

/// <summary>
/// People's scores for calibrating the judges, as a CSV file (RFC 4180) with the columns persona, task, question and
/// score in any order and any case (other columns are ignored). A task may be written in any form
/// <see cref="PersonaTasks.TryParse"/> accepts; a score is a number from 1 to 5 (a mean of several raters may have
/// decimals).
/// </summary>
public static class HumanScoreFile
{
    public static IReadOnlyList<string> RequiredColumns { get; } = ["persona", "task", "question", "score"];

    /// <summary>
    /// Reads every good row and reports every bad one with its line number; bad content never throws (a missing or
    /// unreadable file is an error too). When the header is unusable, no row is read.
    /// </summary>
    public static (IReadOnlyList<HumanScore> Scores, IReadOnlyList<string> Errors) Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return ([], [$"{path}: cannot be read ({e.Message})"]);
        }
        return Parse(text, path);
    }

    /// <summary>As <see cref="Read"/>, over text already in memory; <paramref name="source"/> names it in errors.</summary>
    public static (IReadOnlyList<HumanScore> Scores, IReadOnlyList<string> Errors) Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var errors = new List<string>();
        var scores = new List<HumanScore>();
        var records = Csv.Parse(text);
        if (records.Count == 0)
            return ([], [$"{source}: the file is empty; expected a header with the columns {string.Join(", ", RequiredColumns)}"]);

        var header = records[0];
        if (header.Error is not null)
            return ([], [$"{source} line {header.Line}: the header is malformed ({header.Error})"]);
        var columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < header.Fields.Count; i++)
        {
            var name = header.Fields[i].Trim();
            if (RequiredColumns.Contains(name, StringComparer.OrdinalIgnoreCase) && !columns.TryAdd(name, i))
                errors.Add($"{source} line {header.Line}: the column '{name}' appears twice");
        }
        var missing = RequiredColumns.Where(c => !columns.ContainsKey(c)).ToList();
        if (missing.Count > 0)
            errors.Add($"{source} line {header.Line}: the header lacks the column(s) {string.Join(", ", missing)} " +
                       $"(found: {string.Join(", ", header.Fields.Select(f => f.Trim()))})");
        if (errors.Count > 0) return ([], errors);

        var persona = columns["persona"];
        var task = columns["task"];
        var question = columns["question"];
        var score = columns["score"];
        foreach (var record in records.Skip(1))
        {
            var where = $"{source} line {record.Line}";
            if (record.Error is not null) { errors.Add($"{where}: {record.Error}"); continue; }
            if (record.Fields.Count != header.Fields.Count)
            {
                errors.Add($"{where}: {record.Fields.Count} field(s) where the header has {header.Fields.Count}");
                continue;
            }

            var problems = new List<string>();
            var personaText = record.Fields[persona].Trim();
            if (Personas.Validate(personaText) is { } personaProblem) problems.Add(personaProblem);
            if (!PersonaTasks.TryParse(record.Fields[task], out var parsedTask))
                problems.Add($"unknown task '{record.Fields[task].Trim()}' (valid: {string.Join(", ", PersonaTasks.All.Select(t => t.DisplayName()))})");
            var questionText = record.Fields[question].Trim();
            if (questionText.Length == 0) problems.Add("the question is empty");
            var scoreText = record.Fields[score].Trim();
            if (!double.TryParse(scoreText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                problems.Add($"the score '{scoreText}' is not a number");
            else if (value < ScoreDistribution.MinScore || value > ScoreDistribution.MaxScore)
                problems.Add($"the score {scoreText} is outside the rubric's {ScoreDistribution.MinScore}–{ScoreDistribution.MaxScore}");

            if (problems.Count > 0) errors.Add($"{where}: {string.Join("; ", problems)}");
            else scores.Add(new HumanScore(personaText, parsedTask, questionText, value));
        }
        return (scores, errors);
    }
}
