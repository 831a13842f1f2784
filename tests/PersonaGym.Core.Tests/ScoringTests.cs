using PersonaGym.Core;
using PersonaGym.Core.Scoring;

namespace PersonaGym.Core.Tests;

public class ScoringTests
{
    private const double Tolerance = 1e-12;

    private static IEnumerable<JudgementScore> Batch(PersonaTask task, int batch, string judge, params int?[] scores) =>
        scores.Select((s, i) => new JudgementScore(task, batch, judge, i, s));

    private static IEnumerable<JudgementScore> AllTasks(int score) =>
        PersonaTasks.All.SelectMany(t => Batch(t, 0, "judge-a", score, score));

    /// <summary>
    /// 5 tasks × 2 batches × 2 judges × 5 items, with parse failures (null), worked out by hand:
    /// <code>
    /// Expected Action       b0: A [5,4,–,4,5] = 18/4 = 4.5    B [4,4,4,4,4] = 4   → 4.25
    ///                       b1: A [3,3,3,3,3] = 3             B [–,–,–,–,–] none  → 3     (B left out, not 0)
    ///                       task = (4.25 + 3) / 2 = 3.625                        failures 1 + 5 = 6
    /// Action Justification  b0: A [2,3,4,5,1] = 3             B [3,3,3,3,3] = 3   → 3
    ///                       b1: A [5,5,5,5,5] = 5             B [4,5,–,–,5] = 14/3 → (5 + 14/3)/2 = 29/6
    ///                       task = (3 + 29/6) / 2 = 47/12 = 3.91666…             failures 2
    /// Linguistic Habits     b0: A [1,2,2,2,3] = 2             B [2,2,2,2,2] = 2   → 2
    ///                       b1: A [3,3,3,3,4] = 3.2           B [4,4,4,4,4] = 4   → 3.6
    ///                       task = 2.8                                           failures 0
    /// Persona Consistency   b0: A all 5 = 5                   B all 5 = 5         → 5
    ///                       b1: A [4,–,4,–,4] = 4             B [5,5,4,4,–] = 4.5 → 4.25
    ///                       task = 4.625                                         failures 3
    /// Toxicity Control      b0: A all 5 = 5                   B all 4 = 4         → 4.5
    ///                       b1: A all 5 = 5                   B all 5 = 5         → 5
    ///                       task = 4.75                                          failures 0
    /// PersonaScore = (3.625 + 47/12 + 2.8 + 4.625 + 4.75) / 5 = (15.8 + 47/12) / 5 = 236.6/60 = 3.94333…
    /// </code>
    /// </summary>
    private static List<JudgementScore> WorkedExample() =>
    [
        .. Batch(PersonaTask.ExpectedAction, 0, "A", 5, 4, null, 4, 5),
        .. Batch(PersonaTask.ExpectedAction, 0, "B", 4, 4, 4, 4, 4),
        .. Batch(PersonaTask.ExpectedAction, 1, "A", 3, 3, 3, 3, 3),
        .. Batch(PersonaTask.ExpectedAction, 1, "B", null, null, null, null, null),
        .. Batch(PersonaTask.ActionJustification, 0, "A", 2, 3, 4, 5, 1),
        .. Batch(PersonaTask.ActionJustification, 0, "B", 3, 3, 3, 3, 3),
        .. Batch(PersonaTask.ActionJustification, 1, "A", 5, 5, 5, 5, 5),
        .. Batch(PersonaTask.ActionJustification, 1, "B", 4, 5, null, null, 5),
        .. Batch(PersonaTask.LinguisticHabits, 0, "A", 1, 2, 2, 2, 3),
        .. Batch(PersonaTask.LinguisticHabits, 0, "B", 2, 2, 2, 2, 2),
        .. Batch(PersonaTask.LinguisticHabits, 1, "A", 3, 3, 3, 3, 4),
        .. Batch(PersonaTask.LinguisticHabits, 1, "B", 4, 4, 4, 4, 4),
        .. Batch(PersonaTask.PersonaConsistency, 0, "A", 5, 5, 5, 5, 5),
        .. Batch(PersonaTask.PersonaConsistency, 0, "B", 5, 5, 5, 5, 5),
        .. Batch(PersonaTask.PersonaConsistency, 1, "A", 4, null, 4, null, 4),
        .. Batch(PersonaTask.PersonaConsistency, 1, "B", 5, 5, 4, 4, null),
        .. Batch(PersonaTask.ToxicityControl, 0, "A", 5, 5, 5, 5, 5),
        .. Batch(PersonaTask.ToxicityControl, 0, "B", 4, 4, 4, 4, 4),
        .. Batch(PersonaTask.ToxicityControl, 1, "A", 5, 5, 5, 5, 5),
        .. Batch(PersonaTask.ToxicityControl, 1, "B", 5, 5, 5, 5, 5),
    ];

    [Fact]
    public void Worked_example_gives_the_hand_computed_task_scores()
    {
        var report = PersonaScoring.Compute(WorkedExample());

        Assert.Equal(3.625, report[PersonaTask.ExpectedAction].Score!.Value, Tolerance);
        Assert.Equal(47.0 / 12, report[PersonaTask.ActionJustification].Score!.Value, Tolerance);
        Assert.Equal(2.8, report[PersonaTask.LinguisticHabits].Score!.Value, Tolerance);
        Assert.Equal(4.625, report[PersonaTask.PersonaConsistency].Score!.Value, Tolerance);
        Assert.Equal(4.75, report[PersonaTask.ToxicityControl].Score!.Value, Tolerance);
    }

    [Fact]
    public void Worked_example_gives_the_hand_computed_persona_score()
    {
        var report = PersonaScoring.Compute(WorkedExample());

        Assert.Equal(236.6 / 60, report.PersonaScore!.Value, Tolerance);
        Assert.Equal(3.94, PersonaScoring.Round2(report.PersonaScore.Value));
    }

    [Fact]
    public void Worked_example_counts_parse_failures_beside_every_figure()
    {
        var report = PersonaScoring.Compute(WorkedExample());

        Assert.Equal(100, report.Judgements);
        Assert.Equal(11, report.ParseFailures);
        Assert.Equal([6, 2, 0, 3, 0], report.Tasks.Select(t => t.ParseFailures));
        Assert.All(report.Tasks, t => Assert.Equal((2, 10, 20, 2), (t.Batches, t.Items, t.Judgements, t.ScoredBatches)));
    }

    [Fact]
    public void Report_lists_the_five_tasks_in_paper_order_even_without_judgements()
    {
        var report = PersonaScoring.Compute([]);

        Assert.Equal(PersonaTasks.All, report.Tasks.Select(t => t.Task));
        Assert.All(report.Tasks, t => Assert.Null(t.Score));
        Assert.Null(report.PersonaScore);
    }

    [Fact]
    public void Judge_with_no_parsed_score_in_a_batch_is_left_out_not_counted_as_zero()
    {
        // The reference code turns failures into 0 and keeps a lone 0: that batch would be (4 + 0) / 2 = 2.
        var report = PersonaScoring.Compute([
            .. Batch(PersonaTask.ExpectedAction, 0, "A", 4, 4, 4),
            .. Batch(PersonaTask.ExpectedAction, 0, "B", null, null, null),
        ]);

        Assert.Equal(4.0, report[PersonaTask.ExpectedAction].Score);
        Assert.Equal(3, report[PersonaTask.ExpectedAction].ParseFailures);
        Assert.Contains(report.Notes, n => n.Contains("Expected Action batch 1 rests on 1 of 2 judges") && n.Contains("B (all 3 unparseable)"));
        Assert.Equal(1, report[PersonaTask.ExpectedAction].MissingJudgements);
        Assert.False(report.Complete);
    }

    [Fact]
    public void Batch_with_every_judgement_unparseable_has_no_score_and_is_reported()
    {
        var report = PersonaScoring.Compute([
            .. Batch(PersonaTask.LinguisticHabits, 0, "A", 2, 3),
            .. Batch(PersonaTask.LinguisticHabits, 0, "B", 3, 3),
            .. Batch(PersonaTask.LinguisticHabits, 1, "A", null, null),
            .. Batch(PersonaTask.LinguisticHabits, 1, "B", null, null),
        ]);

        var task = report[PersonaTask.LinguisticHabits];
        Assert.Equal(2.75, task.Score); // batch 0 only: (2.5 + 3) / 2; batch 1 is not a 0
        Assert.Equal((2, 1, 4), (task.Batches, task.ScoredBatches, task.ParseFailures));
        Assert.Contains(report.Notes, n => n.Contains("Linguistic Habits batch 2 has no score"));
        Assert.Equal(1, task.MissingBatches);
    }

    [Fact]
    public void Task_with_every_judgement_unparseable_has_no_score_and_no_persona_score()
    {
        var report = PersonaScoring.Compute([
            .. PersonaTasks.All.Where(t => t != PersonaTask.ToxicityControl).SelectMany(t => Batch(t, 0, "A", 4)),
            .. Batch(PersonaTask.ToxicityControl, 0, "A", null, null),
        ]);

        Assert.Null(report[PersonaTask.ToxicityControl].Score);
        Assert.Null(report.PersonaScore);
        Assert.Contains(report.Notes, n => n.Contains("No PersonaScore") && n.Contains("Toxicity Control (all 2 judgements unparseable)"));
    }

    [Fact]
    public void Task_without_judgements_leaves_persona_score_null_with_a_note_naming_it()
    {
        var report = PersonaScoring.Compute(
            PersonaTasks.All.Where(t => t != PersonaTask.ActionJustification).SelectMany(t => Batch(t, 0, "A", 5)));

        Assert.Null(report.PersonaScore);
        Assert.Contains(report.Notes, n => n.Contains("Action Justification (no judgements)"));
    }

    [Fact]
    public void Single_judge_task_score_is_the_mean_of_its_batch_means()
    {
        var report = PersonaScoring.Compute([
            .. Batch(PersonaTask.ExpectedAction, 0, "only", 5, 4, 3, 2, 1), // 3
            .. Batch(PersonaTask.ExpectedAction, 1, "only", 4, 4, 4, 5, 5), // 4.4
        ]);

        Assert.Equal(3.7, report[PersonaTask.ExpectedAction].Score!.Value, Tolerance);
    }

    [Fact]
    public void A_shorter_last_batch_counts_for_its_questions_so_the_task_score_is_the_mean_over_questions()
    {
        // 7 questions in batches of 5: the last batch holds 2. Averaging the two batch means would weigh those 2
        // questions as much as the other 5: (3 + 5) / 2 = 4, against (15 + 10) / 7 over the questions.
        var report = PersonaScoring.Compute([
            .. Batch(PersonaTask.ExpectedAction, 0, "A", 5, 4, 3, 2, 1),
            .. Batch(PersonaTask.ExpectedAction, 0, "B", 5, 4, 3, 2, 1),
            .. Batch(PersonaTask.ExpectedAction, 1, "A", 5, 5),
            .. Batch(PersonaTask.ExpectedAction, 1, "B", 5, null),
        ]);

        Assert.Equal(25.0 / 7, report[PersonaTask.ExpectedAction].Score!.Value, Tolerance);
    }

    [Fact]
    public void Batch_size_one_averages_judges_per_answer_then_answers()
    {
        var report = PersonaScoring.Compute([
            .. Batch(PersonaTask.PersonaConsistency, 0, "A", 5),
            .. Batch(PersonaTask.PersonaConsistency, 0, "B", 4),    // 4.5
            .. Batch(PersonaTask.PersonaConsistency, 1, "A", 2),
            .. Batch(PersonaTask.PersonaConsistency, 1, "B", (int?)null), // 2 (B left out)
            .. Batch(PersonaTask.PersonaConsistency, 2, "A", 3),
            .. Batch(PersonaTask.PersonaConsistency, 2, "B", 3),    // 3
        ]);

        var task = report[PersonaTask.PersonaConsistency];
        Assert.Equal(9.5 / 3, task.Score!.Value, Tolerance);
        Assert.Equal((3, 3, 6, 1), (task.Batches, task.Items, task.Judgements, task.ParseFailures));
    }

    [Fact]
    public void Persona_score_is_the_unweighted_mean_of_task_scores()
    {
        // Expected Action has 3 batches, the others 1: each task still weighs one fifth.
        var report = PersonaScoring.Compute([
            .. Batch(PersonaTask.ExpectedAction, 0, "A", 1),
            .. Batch(PersonaTask.ExpectedAction, 1, "A", 1),
            .. Batch(PersonaTask.ExpectedAction, 2, "A", 1),
            .. PersonaTasks.All.Skip(1).SelectMany(t => Batch(t, 0, "A", 5)),
        ]);

        Assert.Equal((1 + 5 * 4) / 5.0, report.PersonaScore!.Value, Tolerance);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    public void Score_outside_the_rubric_is_rejected(int score)
    {
        Assert.Throws<ArgumentException>(() => PersonaScoring.Compute(Batch(PersonaTask.ExpectedAction, 0, "A", score)));
    }

    [Fact]
    public void The_same_verdict_twice_is_rejected()
    {
        var verdict = new JudgementScore(PersonaTask.ExpectedAction, 0, "A", 0, 4);
        Assert.Throws<ArgumentException>(() => PersonaScoring.Compute([verdict, verdict]));
    }

    [Fact]
    public void Aggregate_means_over_personas_per_task_and_overall()
    {
        var first = PersonaScoring.Compute(AllTasks(4));
        var second = PersonaScoring.Compute(PersonaTasks.All.SelectMany(t => Batch(t, 0, "A", t == PersonaTask.LinguisticHabits ? 2 : 5)));

        var aggregate = PersonaScoring.Aggregate([first, second]);

        Assert.Equal(3.0, aggregate.TaskScores[PersonaTask.LinguisticHabits]);
        Assert.Equal(4.5, aggregate.TaskScores[PersonaTask.ExpectedAction]);
        Assert.Equal((4.0 + 4.4) / 2, aggregate.PersonaScore!.Value, Tolerance);
        Assert.Equal((2, 2), (aggregate.Personas, aggregate.PersonasWithScore));
    }

    [Fact]
    public void Aggregate_excludes_and_counts_personas_lacking_a_figure()
    {
        var complete = PersonaScoring.Compute(AllTasks(4));
        var noToxicity = PersonaScoring.Compute([
            .. PersonaTasks.All.Where(t => t != PersonaTask.ToxicityControl).SelectMany(t => Batch(t, 0, "A", 2)),
            .. Batch(PersonaTask.ToxicityControl, 0, "A", (int?)null),
        ]);

        var aggregate = PersonaScoring.Aggregate([complete, noToxicity], includeIncomplete: true);

        Assert.Equal(4.0, aggregate.PersonaScore);                              // only the complete persona
        Assert.Equal(4.0, aggregate.TaskScores[PersonaTask.ToxicityControl]);   // the failed one is not a 0
        Assert.Equal(3.0, aggregate.TaskScores[PersonaTask.ExpectedAction]);    // both have this task
        Assert.Equal((2, 1, 1), (aggregate.Personas, aggregate.PersonasWithScore, aggregate.ParseFailures));
        Assert.Equal(1, aggregate.PersonasWithTaskScore[PersonaTask.ToxicityControl]);
        Assert.Equal(2, aggregate.PersonasWithTaskScore[PersonaTask.ExpectedAction]);
        Assert.Equal(0, aggregate.PersonasLeftOut);
    }

    [Fact]
    public void Aggregate_by_default_averages_complete_personas_only_and_counts_those_left_out()
    {
        var complete = PersonaScoring.Compute(AllTasks(4));
        // Scored on every task, but judge B gave nothing parseable on one batch: it rests on fewer judges.
        var fewerJudges = PersonaScoring.Compute([
            .. PersonaTasks.All.SelectMany(t => Batch(t, 0, "A", 2)),
            .. PersonaTasks.All.Where(t => t != PersonaTask.LinguisticHabits).SelectMany(t => Batch(t, 0, "B", 2)),
            .. Batch(PersonaTask.LinguisticHabits, 0, "B", (int?)null),
        ]);
        Assert.NotNull(fewerJudges.PersonaScore);
        Assert.False(fewerJudges.Complete);

        var aggregate = PersonaScoring.Aggregate([complete, fewerJudges]);

        Assert.Equal(4.0, aggregate.PersonaScore);
        Assert.Equal(4.0, aggregate.TaskScores[PersonaTask.ExpectedAction]);
        Assert.Equal((2, 1, 1, false), (aggregate.Personas, aggregate.CompletePersonas, aggregate.PersonasLeftOut, aggregate.IncludesIncomplete));
    }

    [Fact]
    public void A_planned_batch_or_judge_without_verdicts_makes_the_persona_incomplete()
    {
        var expected = new ScoringExpectation(["A", "B"], PersonaTasks.All.ToDictionary(t => t, _ => (IReadOnlyList<int>)[0, 1]))
        {
            FailedBatches = new Dictionary<(PersonaTask, int), string> { [(PersonaTask.ToxicityControl, 1)] = "judging: the provider refused the request" },
        };
        var report = PersonaScoring.Compute([
            .. PersonaTasks.All.SelectMany(t => Batch(t, 0, "A", 4)),
            .. PersonaTasks.All.SelectMany(t => Batch(t, 0, "B", 4)),
            .. PersonaTasks.All.Where(t => t != PersonaTask.ToxicityControl).SelectMany(t => Batch(t, 1, "A", 4)),
        ], expected);

        Assert.Equal(4.0, report.PersonaScore);
        Assert.False(report.Complete);
        Assert.Equal(1, report[PersonaTask.ToxicityControl].MissingBatches);
        Assert.Equal(2, report[PersonaTask.ToxicityControl].ExpectedBatches);
        Assert.Equal(4, report.MissingJudgements); // judge B on batch 2 of the other four tasks
        Assert.Contains(report.Notes, n => n.Contains("Toxicity Control batch 2 has no score: it failed (judging: the provider refused the request)"));
    }

    [Fact]
    public void Aggregate_of_no_personas_has_no_figures()
    {
        var aggregate = PersonaScoring.Aggregate([]);

        Assert.Null(aggregate.PersonaScore);
        Assert.Equal(PersonaTasks.All.Order(), aggregate.TaskScores.Keys.Order());
        Assert.All(aggregate.TaskScores.Values, Assert.Null);
    }

    [Theory]
    [InlineData(4.515, 4.52)]   // stored as 4.51499…; printed tables round what they show
    [InlineData(2.675, 2.68)]
    [InlineData(4.125, 4.13)]   // an exact binary midpoint: away from zero, not to even
    [InlineData(-1.005, -1.01)]
    [InlineData(4.514999, 4.51)]
    [InlineData(3.8400000000000003, 3.84)]
    [InlineData(5.0, 5.0)]
    public void Round2_rounds_midpoints_away_from_zero_as_printed(double value, double expected)
    {
        Assert.Equal(expected, PersonaScoring.Round2(value));
    }
}
