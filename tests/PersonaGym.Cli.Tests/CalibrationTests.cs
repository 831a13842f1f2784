using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Reports;

namespace PersonaGym.Cli.Tests;

/// <summary><c>personagym calibrate</c>: people's scores against the judges' mean per answer.</summary>
public sealed class CalibrationTests(ExportRunFixture run) : IClassFixture<ExportRunFixture>
{
    /// <summary>The judges' mean per answer of one agent, computed here from the stored judgements.</summary>
    private async Task<List<(string Persona, PersonaTask Task, string Question, double Mean)>> JudgeMeansAsync(string agent)
    {
        await using var db = run.Cli.OpenDatabase();
        var rows = await db.Judgements.AsNoTracking()
            .Where(j => j.RunId == run.RunId && j.Answer.Agent.Spec == agent && j.Score != null)
            .Select(j => new { j.AnswerId, Persona = j.Answer.Question.QuestionSetPersona.Persona.Text, j.Answer.Question.Task, Question = j.Answer.Question.Text, Score = j.Score!.Value })
            .ToListAsync();
        return rows.GroupBy(r => r.AnswerId)
            .Select(g => (g.First().Persona, g.First().Task, g.First().Question, g.Average(r => (double)r.Score)))
            .ToList();
    }

    private string WriteHumanScores(IEnumerable<IEnumerable<string?>> rows)
    {
        var file = run.Cli.PathOf($"human-{Guid.NewGuid():N}.csv");
        File.WriteAllText(file, Csv.FormatTable(rows.Prepend(["persona", "task", "question", "score"])));
        return file;
    }

    /// <summary>The numbers of the table row that starts with <paramref name="label"/>.</summary>
    private static List<string> Row(string output, string label)
    {
        var line = output.Split('\n').Single(l => l.Contains(label, StringComparison.Ordinal));
        return Regex.Matches(line[(line.IndexOf(label, StringComparison.Ordinal) + label.Length)..], @"-?\d+(\.\d+)?|–").Select(m => m.Value).ToList();
    }

    [Fact]
    public async Task People_who_score_exactly_as_the_judges_agree_with_them_perfectly()
    {
        var means = await JudgeMeansAsync(ExportRunFixture.FirstAgent);
        Assert.True(means.Select(m => m.Mean).Distinct().Count() > 2, "the offline judges should give varied scores");
        var file = WriteHumanScores(means.Select(m => new[] { m.Persona, m.Task.DisplayName(), m.Question, m.Mean.ToString("R", CultureInfo.InvariantCulture) }));

        var result = await run.Cli.RunAsync("calibrate", "scored", "--human", file, "--agent", ExportRunFixture.FirstAgent);

        Assert.True(result.ExitCode == 0, result.ToString());
        // Matched, people only, judges only, Spearman, Kendall τb.
        Assert.Equal([means.Count.ToString(CultureInfo.InvariantCulture), "0", "0", "1.000", "1.000"], Row(result.Out, "All tasks"));
    }

    [Fact]
    public async Task Reversed_scores_give_a_perfect_negative_rank_correlation_and_unscored_answers_are_counted()
    {
        var means = await JudgeMeansAsync(ExportRunFixture.FirstAgent);
        var scored = means.Where(m => m.Task == PersonaTask.PersonaConsistency).ToList();
        var file = WriteHumanScores(scored.Select(m => new[] { m.Persona, "persona-consistency", m.Question, (6 - m.Mean).ToString("R", CultureInfo.InvariantCulture) }));

        var result = await run.Cli.RunAsync("calibrate", "scored", "--human", file, "--agent", ExportRunFixture.FirstAgent);

        Assert.True(result.ExitCode == 0, result.ToString());
        var row = Row(result.Out, "Persona Consistency");
        Assert.Equal([scored.Count.ToString(CultureInfo.InvariantCulture), "0", "0"], row.Take(3));
        if (scored.Select(m => m.Mean).Distinct().Count() > 1) Assert.Equal(["-1.000", "-1.000"], row.Skip(3));
        var overall = Row(result.Out, "All tasks");
        Assert.Equal((means.Count - scored.Count).ToString(CultureInfo.InvariantCulture), overall[2]);
    }

    [Fact]
    public async Task Bad_rows_are_reported_by_line_and_nothing_is_computed()
    {
        var means = await JudgeMeansAsync(ExportRunFixture.FirstAgent);
        var good = means[0];
        var file = WriteHumanScores([
            [good.Persona, good.Task.DisplayName(), good.Question, "4"],
            [good.Persona, "Charisma", good.Question, "4"],
            [good.Persona, good.Task.DisplayName(), good.Question, "seven"],
            [good.Persona, good.Task.DisplayName(), good.Question, "9"],
        ]);

        var result = await run.Cli.RunAsync("calibrate", "scored", "--human", file, "--agent", ExportRunFixture.FirstAgent);

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("line 3: unknown task 'Charisma'", result.Error);
        Assert.Contains("line 4: the score 'seven' is not a number", result.Error);
        Assert.Contains("line 5: the score 9 is outside", result.Error);
        Assert.DoesNotContain("line 2", result.Error);
        Assert.DoesNotContain("Spearman", result.Out);
    }

    [Fact]
    public async Task A_run_with_several_models_under_test_needs_agent_and_lists_them()
    {
        var means = await JudgeMeansAsync(ExportRunFixture.FirstAgent);
        var file = WriteHumanScores(means.Select(m => new[] { m.Persona, m.Task.DisplayName(), m.Question, "3" }));

        var result = await run.Cli.RunAsync("calibrate", "scored", "--human", file);

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("name one with --agent", result.Error);
        Assert.Contains(ExportRunFixture.FirstAgent, result.Error);
        Assert.Contains(ExportRunFixture.SecondAgent, result.Error);
    }

    [Fact]
    public async Task Scores_that_match_no_answer_are_an_input_error()
    {
        var file = WriteHumanScores([["A persona nobody evaluated", "Expected Action", "What would you do?", "3"]]);

        var result = await run.Cli.RunAsync("calibrate", "scored", "--human", file, "--agent", ExportRunFixture.SecondAgent);

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("none of the people's scores matches", result.Error);
    }
}
