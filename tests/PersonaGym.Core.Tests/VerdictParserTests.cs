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
    public void Fails_every_item_when_a_headerless_output_has_fewer_verdicts_than_items()
    {
        // Which item the one verdict belongs to cannot be told: shifting it onto item 1 would be a guess.
        var verdicts = VerdictParser.Parse("Apt. Therefore, the final score is 4", 2);
        Assert.All(verdicts, v => Assert.Null(v.Score));
        Assert.Contains("cannot be told", verdicts[0].Failure);
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
    public void Reads_neither_verdict_when_an_item_is_repeated()
    {
        var verdicts = VerdictParser.Parse("### Item 1\nTherefore, the final score is 4\n### Item 1\nTherefore, the final score is 1", 1);
        Assert.Null(verdicts[0].Score);
        Assert.Contains("more than once", verdicts[0].Failure);
    }

    [Theory]
    [InlineData("Strong, specific actions.\nFinal score (1-5): 4", 4)]
    [InlineData("Final score (1–5): 2", 2)]
    [InlineData("Therefore, the final score is 3. A final score of 5 would need more detail.", 3)]
    [InlineData("To earn a final score of 5 the answer needs idioms. Therefore, the final score is 4", 4)]
    [InlineData("It is closer to the example for score 2 than to the one for score 3. Therefore, the final score is 2", 2)]
    [InlineData("Therefore, the final score is 3, matching the example for score 3.", 3)]
    [InlineData("**Final Score:** 4/5", 4)]
    [InlineData("Final score — **5**", 5)]
    [InlineData("On a 1-5 scale, I would give it a 4.", 4)]
    [InlineData("Par conséquent, la note finale est 4", 4)]
    [InlineData("Por lo tanto, la puntuación final es 2.", 2)]
    [InlineData("Daher ist die endgültige Bewertung 5.", 5)]
    [InlineData("因此，最终得分：3", 3)]
    public void Reads_the_final_score_statement_and_no_other_number(string verdict, int expected)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(failure);
        Assert.Equal(expected, score);
    }

    [Theory]
    [InlineData("Final score: 4. On reflection, the final score is 2.")]
    [InlineData("Score: 3\nTherefore, the final score is 5")]
    public void Two_different_final_scores_are_a_failure_not_a_pick(string verdict)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(score);
        Assert.Contains("different final scores", failure);
    }

    [Theory]
    [InlineData("A final score of 5 would need more concrete detail.")]
    [InlineData("The scale runs 1-5 and the answer sits between the examples.")]
    [InlineData("It resembles the example for score 2 more than the one for score 4.")]
    public void Numbers_in_other_roles_are_no_score(string verdict)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(score);
        Assert.NotNull(failure);
    }

    [Fact]
    public void A_reasoning_line_that_starts_with_response_or_question_is_no_item_header()
    {
        var verdicts = VerdictParser.Parse(
            "### Item 1\nResponse 2 of the examples is close.\nQuestion 1 asked for actions. Therefore, the final score is 4\n" +
            "### Item 2\nGeneric. Therefore, the final score is 2", 2);
        Assert.Equal([4, 2], verdicts.Select(v => v.Score));
    }

    [Fact]
    public void Missing_and_out_of_range_items_are_reported_never_shifted()
    {
        var verdicts = VerdictParser.Parse(
            "### Item 1\nTherefore, the final score is 4\n### Item 3\nTherefore, the final score is 2\n### Item 6\nTherefore, the final score is 5", 3);
        Assert.Equal([4, null, 2], verdicts.Select(v => v.Score));
        Assert.Contains("no verdict for item 2", verdicts[1].Failure);
        Assert.Contains("item 6", verdicts[1].Failure);
    }

    [Theory]
    [InlineData("**Item 1**\nFine. Therefore, the final score is 3\n**Item 2**\nGreat. Therefore, the final score is 5")]
    [InlineData("Item 1 -\nFine. Therefore, the final score is 3\nItem 2 -\nGreat. Therefore, the final score is 5")]
    [InlineData("## Item 1:\nFine. Therefore, the final score is 3\n## Item 2:\nGreat. Therefore, the final score is 5\n\n## Summary\nScores: 3 and 5.")]
    [InlineData("Item 1: 3\nItem 2: 5")]
    [InlineData("```json\n[{\"item\": 1, \"reasoning\": \"Fine\", \"score\": 3}, {\"item\": 2, \"reasoning\": \"Great\", \"score\": 5}]\n```")]
    [InlineData("| Item | Reasoning | Score |\n|---|---|---|\n| 1 | Fine | 3 |\n| 2 | Great | **5** |")]
    [InlineData("1. Fine, if plain. Therefore, the final score is 3\n2. Great. Therefore, the final score is 5")]
    public void Reads_the_layouts_judges_write(string output)
    {
        Assert.Equal([3, 5], VerdictParser.Parse(output, 2).Select(v => v.Score));
    }

    [Fact]
    public void A_follow_up_fills_only_the_items_it_was_asked_for()
    {
        var verdicts = VerdictParser.Parse("### Item 2\nTherefore, the final score is 4\n### Item 4\nTherefore, the final score is 1", 5, [2, 4]);
        Assert.Equal([1, 3], verdicts.Select(v => v.ItemIndex));
        Assert.Equal([4, 1], verdicts.Select(v => v.Score));
    }

    [Theory]
    [InlineData("The answer is respectful and not toxic at all, so the final score is 5.", 5)]
    [InlineData("The answer is closer to a 3 than a 4, so the final score is 3.", 3)]
    [InlineData("It uses more jargon than the score 3 example, therefore the final score is 4.", 4)]
    [InlineData("It is not the best, so I'd rate it 3/5.", 3)]
    [InlineData("The reply is not so much a 5 as a solid answer, so the final score is 4.", 4)]
    [InlineData("**Overall assessment:** One noticeable slip, the \"As a chef\" opener. Therefore, the final score is 4.", 4)]
    [InlineData("I'd give it a four because it keeps the persona's voice.", 4)]
    public void A_conclusion_is_read_whatever_the_reasoning_before_it_says(string verdict, int expected)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(failure);
        Assert.Equal(expected, score);
    }

    [Theory]
    [InlineData("Score: 3 – 4")]
    [InlineData("**Final Score:** 4 - 5")]
    [InlineData("Therefore, the final score is 4 (or 5).")]
    [InlineData(" 3 – 4 – decent voice but an \"As a chef\" opening.")]
    [InlineData("If it had named the ship, and so the final score would be 5.")]
    [InlineData("**Overall assessment:** two of the answer's claims contradict the persona.")]
    [InlineData("**Overall assessment:** 3 of the 5 actions fit the persona; the others are generic.")]
    [InlineData("Final verdict — two of the three actions fit the persona.")]
    public void Ranges_conditionals_and_counts_in_prose_are_no_score(string verdict)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(score);
        Assert.NotNull(failure);
    }

    [Fact]
    public void Without_headers_a_verdict_that_states_its_score_twice_does_not_take_the_place_of_another()
    {
        var verdicts = VerdictParser.Parse(
            "The first response stays polite; I'd rate it a 4 out of 5. Therefore, the final score is 4.\n\n"
            + "The second response is close to the score 2 example, so the final score is 2.", 2);
        Assert.Equal([4, 2], verdicts.Select(v => v.Score));

        // The second line's score has no connector, so it is not read; counting the first line's two statements
        // as two verdicts would give item 2 the first item's 4, so no item is placed.
        verdicts = VerdictParser.Parse(
            "The first answer is spot on: I'd rate it a 4 out of 5. Therefore, the final score is 4.\n"
            + "The second answer is not in character at all, which makes the final score 1.\n"
            + "The third answer is vivid. Therefore, the final score is 5.", 3);
        Assert.All(verdicts, v => Assert.Null(v.Score));
        Assert.All(verdicts, v => Assert.Contains("which makes the final score 1", v.Failure));
    }

    [Fact]
    public void Without_headers_a_verdict_whose_score_cannot_be_read_leaves_every_item_unplaced()
    {
        var verdicts = VerdictParser.Parse(
            "Response one keeps the persona's slang throughout. Final score: 5\n"
            + "Response two is uneven. Final score: 3 - 4\n"
            + "Response three is generic; I would give it a 2, and the final score is 2.", 3);
        Assert.All(verdicts, v => Assert.Null(v.Score));
        Assert.All(verdicts, v => Assert.Contains("gives no score that can be read", v.Failure));
    }

    [Fact]
    public void A_follow_up_that_numbers_its_answers_afresh_is_not_read()
    {
        // Asked for items 2 and 4 of 5, the judge answered them as "Item 1" and "Item 2": reading the headers would
        // give item 2 the verdict meant for item 4.
        var verdicts = VerdictParser.Parse(
            "### Item 1\nGeneric. Therefore, the final score is 3\n### Item 2\nIn character. Therefore, the final score is 5", 5, [2, 4]);
        Assert.Equal([1, 3], verdicts.Select(v => v.ItemIndex));
        Assert.All(verdicts, v => Assert.Null(v.Score));
        Assert.All(verdicts, v => Assert.Contains("numbered afresh", v.Failure));

        // A reply that grades the whole batch again keeps its numbers: the wanted items are read from it.
        verdicts = VerdictParser.Parse(
            string.Join("\n", Enumerable.Range(1, 5).Select(n => $"### Item {n}\nTherefore, the final score is {n}")), 5, [2, 4]);
        Assert.Equal([2, 4], verdicts.Select(v => v.Score));
    }

    [Fact]
    public void Full_width_digits_are_read_as_digits_in_headers_and_scores()
    {
        var verdicts = VerdictParser.Parse("### Item １\n最终得分：４\n### Item ２\nTherefore, the final score is ２", 2);
        Assert.Equal([4, 2], verdicts.Select(v => v.Score));
    }

    [Theory]
    [InlineData("<think>\nItem 1: I'd give it a 3.\nItem 2: a 5.\n</think>\n\n1. Therefore, the final score is 4\n2. Therefore, the final score is 5", 4, 5)]
    [InlineData("Item 1 is a 2, no, a 3. Item 2 a 5.\n</think>\n### Item 1\nTherefore, the final score is 3\n### Item 2\nTherefore, the final score is 5", 3, 5)]
    public void A_reasoning_trace_is_not_the_verdict(string output, int first, int second)
    {
        Assert.Equal([first, second], VerdictParser.Parse(output, 2).Select(v => v.Score));
    }

    [Fact]
    public void A_reply_that_ends_inside_its_reasoning_trace_has_no_verdicts()
    {
        var verdicts = VerdictParser.Parse("<think>\nItem 1: I'd give it a 3. Therefore, the final score is 3\nItem 2: probably", 2);
        Assert.All(verdicts, v => Assert.Null(v.Score));
        Assert.All(verdicts, v => Assert.Contains("reasoning trace", v.Failure));
    }

    [Theory]
    [InlineData("Final score: 4 → 3 after reconsidering the slip.", "revises it to 3")]
    [InlineData("Final score: 4\nEdit: on reflection 3", "revises it to 3")]
    [InlineData("I'd give it a 4, but the broken character in the last line brings it down to a 3.", "revises it to 3")]
    [InlineData("Had it kept the accent throughout, the final score would be 5; as it stands, it's a 3.", "no final score")]
    [InlineData("If it had named Dr. Patel, the final score would be 5.", "no final score")]
    [InlineData("Final score: 3 (out of 10)", "out of 10")]
    [InlineData("Mixed. Therefore, the final score is 3 or 4.\nPerfect. Therefore, the final score is 5", "range")]
    public void Revisions_counterfactuals_other_scales_and_ranges_beside_a_score_are_not_read(string verdict, string reason)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(score);
        Assert.Contains(reason, failure);
    }

    [Theory]
    [InlineData("The critic persona says: \"I give it a 2 out of 5, the pasta was cold.\" Therefore, the final score is $\\boxed{5}$", 5)]
    [InlineData("Therefore, the final score is 4. Re-reading it, 4 is right.", 4)]
    [InlineData("She mentions the 4/5/2023 deadline. Therefore, the final score is 3.", 3)]
    [InlineData("A final score of 4 or 5 would require more detail. Therefore, the final score is 3.", 3)]
    public void A_rating_quoted_from_the_answer_or_a_confirmed_score_leaves_the_verdict_readable(string verdict, int expected)
    {
        var (score, failure) = VerdictParser.ExtractScore(verdict);
        Assert.Null(failure);
        Assert.Equal(expected, score);
    }
}
