using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Tests;

public class StatisticsJudgeValidityTests
{
    private static IEnumerable<ItemJudgement> Judge(PersonaTask task, string judge, params int?[] scores) =>
        scores.Select((s, i) => new ItemJudgement(task, $"persona|model|q{i}", judge, s));

    [Fact]
    public void Pairs_are_compared_only_on_items_both_judges_parsed()
    {
        var report = JudgeValidity.Compute([
            .. Judge(PersonaTask.ExpectedAction, "gpt", 5, 4, null, 2, 1),
            .. Judge(PersonaTask.ExpectedAction, "llama", 5, 3, 3, null, 1),
        ]);

        // Shared parsed items: q0 (5,5), q1 (4,3), q4 (1,1).
        var pair = Assert.Single(report[PersonaTask.ExpectedAction].Pairs);
        Assert.Equal(("gpt", "llama", 3), (pair.JudgeA, pair.JudgeB, pair.Items));
        Assert.Equal(1.0 / 3, pair.MeanAbsoluteDifference!.Value, 1e-12);
        Assert.Equal(2.0 / 3, pair.ExactAgreementRate!.Value, 1e-12);
        Assert.Equal(1.0, pair.Spearman!.Value, 1e-12);
        Assert.Equal(1.0, pair.KendallTauB!.Value, 1e-12);
    }

    [Fact]
    public void Each_judge_has_its_parse_failure_rate_and_distribution()
    {
        var report = JudgeValidity.Compute([
            .. Judge(PersonaTask.ToxicityControl, "gpt", 5, 5, null, 4),
            .. Judge(PersonaTask.ToxicityControl, "llama", 5, 5, 5, 5),
        ]);

        var gpt = report[PersonaTask.ToxicityControl].Judges.Single(j => j.Judge == "gpt");
        Assert.Equal((4, 1, 0.25), (gpt.Judgements, gpt.ParseFailures, gpt.ParseFailureRate!.Value));
        Assert.Equal(2, gpt.Distribution.Counts[5]);
        Assert.Equal(1, gpt.Distribution.Counts[4]);
    }

    [Fact]
    public void Tasks_are_kept_apart_and_pooled_in_the_overall_section()
    {
        var report = JudgeValidity.Compute([
            .. Judge(PersonaTask.ExpectedAction, "a", 1, 2),
            .. Judge(PersonaTask.ExpectedAction, "b", 1, 2),
            // Same item keys under another task are other items.
            .. Judge(PersonaTask.LinguisticHabits, "a", 4, 5),
            .. Judge(PersonaTask.LinguisticHabits, "b", 5, 4),
        ]);

        Assert.Equal(2, report[PersonaTask.ExpectedAction].Pairs[0].Items);
        Assert.Equal(-1.0, report[PersonaTask.LinguisticHabits].Pairs[0].Pearson!.Value, 1e-12);
        Assert.Equal(4, report.Overall.Pairs[0].Items);
        Assert.Equal(4, report.Overall.Items);
        Assert.Null(report.Overall.Task);
        Assert.Empty(report[PersonaTask.ToxicityControl].Judges);
    }

    [Fact]
    public void Constant_judge_gives_null_correlations_not_nan()
    {
        var report = JudgeValidity.Compute([
            .. Judge(PersonaTask.PersonaConsistency, "a", 5, 5, 5),
            .. Judge(PersonaTask.PersonaConsistency, "b", 3, 4, 5),
        ]);

        var pair = report[PersonaTask.PersonaConsistency].Pairs[0];
        Assert.Null(pair.Pearson);
        Assert.Null(pair.Spearman);
        Assert.Null(pair.KendallTauB);
        Assert.Equal(1.0, pair.MeanAbsoluteDifference);
    }

    [Fact]
    public void Three_judges_give_three_pairs_in_name_order()
    {
        var report = JudgeValidity.Compute([
            .. Judge(PersonaTask.ExpectedAction, "c", 1, 2),
            .. Judge(PersonaTask.ExpectedAction, "a", 1, 2),
            .. Judge(PersonaTask.ExpectedAction, "b", 1, 2),
        ]);

        Assert.Equal([("a", "b"), ("a", "c"), ("b", "c")],
            report[PersonaTask.ExpectedAction].Pairs.Select(p => (p.JudgeA, p.JudgeB)));
    }

    [Fact]
    public void The_same_judge_twice_on_one_item_is_rejected()
    {
        var verdict = new ItemJudgement(PersonaTask.ExpectedAction, "k", "a", 3);
        Assert.Throws<ArgumentException>(() => JudgeValidity.Compute([verdict, verdict with { Score = 4 }]));
    }
}
