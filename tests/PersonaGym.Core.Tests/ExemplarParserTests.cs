using PersonaGym.Core.Parsing;

namespace PersonaGym.Core.Tests;

public class ExemplarParserTests
{
    private static string Block(int question, string prefix = "") =>
        $"### Question {question}\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"{prefix}Score {s}: answer {question}.{s}"));

    [Fact]
    public void Reads_every_question_and_score_of_the_requested_layout()
    {
        var results = ExemplarParser.Parse(Block(1) + "\n" + Block(2), 2);
        Assert.All(results, r => Assert.True(r.IsSuccess, r.Failure));
        Assert.Equal("answer 2.4", results[1].Value![4]);
    }

    [Fact]
    public void Accepts_bold_markers_and_bullets()
    {
        var text = "**Question 1:** What would you do?\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"- **Score {s}:** text {s}"));
        var result = Assert.Single(ExemplarParser.Parse(text, 1));
        Assert.True(result.IsSuccess, result.Failure);
        Assert.Equal("text 3", result.Value[3]);
    }

    [Fact]
    public void Keeps_an_answer_that_runs_over_several_lines()
    {
        var text = "### Question 1\nScore 1: first line\nsecond line\nScore 2: b\nScore 3: c\nScore 4: d\nScore 5: e";
        Assert.Equal("first line\nsecond line", ExemplarParser.Parse(text, 1)[0].Value![1]);
    }

    [Fact]
    public void Fails_only_the_question_with_a_missing_score()
    {
        var broken = "### Question 2\nScore 1: a\nScore 2: b\nScore 4: d\nScore 5: e";
        var results = ExemplarParser.Parse(Block(1) + "\n" + broken, 2);
        Assert.True(results[0].IsSuccess);
        Assert.Equal("no example answer for score 3", results[1].Failure);
    }

    [Fact]
    public void Fails_questions_missing_from_truncated_output()
    {
        var results = ExemplarParser.Parse(Block(1) + "\n### Question 2\nScore 1: a\nScore 2: b", 3);
        Assert.True(results[0].IsSuccess);
        Assert.False(results[1].IsSuccess);
        Assert.Equal("no example answers for question 3", results[2].Failure);
    }

    [Fact]
    public void Splits_headerless_output_where_scores_restart_at_one()
    {
        var text = string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: x{s}"))
            + "\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: y{s}"));
        var results = ExemplarParser.Parse(text, 2);
        Assert.Equal("y5", results[1].Value![5]);
    }

    [Fact]
    public void Accepts_level_wording_inside_a_code_fence()
    {
        var text = "```\n### Item 1\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Level {s} - l{s}")) + "\n```";
        Assert.Equal("l5", ExemplarParser.Parse(text, 1)[0].Value![5]);
    }

    [Fact]
    public void Fails_every_question_on_empty_output() =>
        Assert.All(ExemplarParser.Parse("", 2), r => Assert.Equal("the output is empty", r.Failure));

    [Fact]
    public void A_follow_up_that_numbers_its_questions_afresh_is_not_read()
    {
        // Asked again for questions 2 and 4 of 5, the writer headed its sets "Question 1" and "Question 2".
        var text = string.Join('\n', new[] { 1, 2 }.Select(q => $"### Question {q}\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: q{q} s{s}."))));
        var results = ExemplarParser.Parse(text, 5, [2, 4]);
        Assert.All(results, r => Assert.False(r.IsSuccess));
        Assert.All(results, r => Assert.Contains("numbered afresh", r.Failure));
    }

    [Fact]
    public void A_full_width_question_number_is_a_number_and_a_reasoning_trace_is_no_example()
    {
        var text = "<think>\nScore 1: maybe rude. Score 5: warm.\n</think>\n### Question ２\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: answer {s}."));
        var result = ExemplarParser.Parse(text, 2, [2]);
        Assert.True(result[0].IsSuccess, result[0].Failure);
        Assert.Equal("answer 1.", result[0].Value![1]);
    }
}
