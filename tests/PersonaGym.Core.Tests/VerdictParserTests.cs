using PersonaGym.Core.Parsing;

namespace PersonaGym.Core.Tests;

public class VerdictParserTests
{
    [Theory]
    [InlineData("The answer fits well. Therefore, the final score is 4", 4)]
    [InlineData("Solid answer. Therefore, the final score is 4.", 4)]
    [InlineData("Good use of idioms. The final score is **5**", 5)]
    [InlineData("Some generic phrasing.\n\n**Final score: 3**", 3)]
    [InlineData("Score: 4/5", 4)]
    [InlineData("I would rate this 2 out of 5.", 2)]
    [InlineData("Rating: 1", 1)]
    [InlineData("It mentions a score 2 example early on, but overall... Therefore, the final score is 5", 5)]
    public void Reads_the_score_from_common_verdict_endings(string verdict, int expected)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(failure);
        Assert.Equal(expected, score);
    }

    [Theory]
    [InlineData("Therefore, the final score is 7", "outside the 1-5 scale")]
    [InlineData("Therefore, the final score is 0", "outside the 1-5 scale")]
    [InlineData("Therefore, the final score is 4.5", "not a whole number")]
    [InlineData("Score: 8/10", "not on the 1-5 scale")]
    public void Rejects_scores_off_the_scale(string verdict, string reason)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(score);
        Assert.Contains(reason, failure);
    }

    [Fact]
    public void Reports_a_refusal_as_a_failure()
    {
        var (score, failure) = VerdictParser.ExtractScore("I'm sorry, but I can't evaluate content of this kind.");
        Assert.Null(score);
        Assert.StartsWith("the judge declined to grade", failure);
    }

    [Fact]
    public void Reports_truncated_output_as_a_failure()
    {
        var (score, failure) = VerdictParser.ExtractScore("The persona keeps its voice throughout. Therefore, the final score is");
        Assert.Null(score);
        Assert.StartsWith("no final score in the verdict", failure);
    }

    [Fact]
    public void Reads_one_verdict_per_item_header()
    {
        var verdicts = VerdictParser.Parse(
            "### Item 1\nGood. Therefore, the final score is 4\n### Item 2\nWeak. Therefore, the final score is 2", 2);
        Assert.Equal([4, 2], verdicts.Select(v => v.Score));
        Assert.Equal([0, 1], verdicts.Select(v => v.ItemIndex));
        Assert.Equal("Weak. Therefore, the final score is 2", verdicts[1].Reasoning);
    }

    [Fact]
    public void Reads_bold_item_headers_with_the_verdict_on_the_same_line()
    {
        var verdicts = VerdictParser.Parse("**Item 1:** Fine. Therefore, the final score is 3\n**Item 2:** Great. Therefore, the final score is 5", 2);
        Assert.Equal([3, 5], verdicts.Select(v => v.Score));
    }

    [Fact]
    public void Marks_items_without_a_verdict_as_failures_and_keeps_the_rest()
    {
        var verdicts = VerdictParser.Parse("### Item 1\nGood. Therefore, the final score is 4\n### Item 2\nHmm, this one", 3);
        Assert.Equal(4, verdicts[0].Score);
        Assert.Null(verdicts[1].Score);
        Assert.StartsWith("no final score", verdicts[1].Failure);
        Assert.Equal("no verdict for item 3 in the judge's output", verdicts[2].Failure);
    }

    [Fact]
    public void Splits_headerless_output_after_each_final_score_sentence()
    {
        var verdicts = VerdictParser.Parse(
            "The first answer is apt. Therefore, the final score is 5.\nThe second is generic. Therefore, the final score is 3.", 2);
        Assert.Equal([5, 3], verdicts.Select(v => v.Score));
    }

    [Fact]
    public void Fails_items_beyond_the_verdicts_a_headerless_output_gives()
    {
        var verdicts = VerdictParser.Parse("Apt. Therefore, the final score is 4", 2);
        Assert.Equal(4, verdicts[0].Score);
        Assert.NotNull(verdicts[1].Failure);
    }

    [Fact]
    public void Reads_a_single_item_without_header()
    {
        var verdict = Assert.Single(VerdictParser.Parse("Consistent and in voice.\nTherefore, the final score is 4", 1));
        Assert.Equal(4, verdict.Score);
    }

    [Fact]
    public void Never_turns_an_unparseable_verdict_into_zero()
    {
        var verdicts = VerdictParser.Parse("As an AI, I am unable to grade this.", 2);
        Assert.All(verdicts, v =>
        {
            Assert.Null(v.Score);
            Assert.False(string.IsNullOrEmpty(v.Failure));
        });
    }

    [Fact]
    public void Takes_the_first_verdict_when_an_item_is_repeated()
    {
        var verdicts = VerdictParser.Parse("### Item 1\nTherefore, the final score is 4\n### Item 1\nTherefore, the final score is 1", 1);
        Assert.Equal(4, verdicts[0].Score);
    }
}
