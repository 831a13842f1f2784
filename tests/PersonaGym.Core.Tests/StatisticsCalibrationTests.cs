using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Tests;

public class StatisticsCalibrationTests
{
    private const string Persona = "A retired nurse from Italy";

    [Fact]
    public void Matched_answers_are_correlated_per_task_and_overall()
    {
        HumanScore[] human =
        [
            new(Persona, PersonaTask.ExpectedAction, "q1", 1),
            new(Persona, PersonaTask.ExpectedAction, "q2", 2),
            new(Persona, PersonaTask.ExpectedAction, "q3", 3),
            new(Persona, PersonaTask.ToxicityControl, "q1", 5),
            new(Persona, PersonaTask.ToxicityControl, "q2", 4),
        ];
        (string, PersonaTask, string, double)[] judged =
        [
            (Persona, PersonaTask.ExpectedAction, "q1", 1.5),
            (Persona, PersonaTask.ExpectedAction, "q2", 3.0),
            (Persona, PersonaTask.ExpectedAction, "q3", 2.5),
            (Persona, PersonaTask.ToxicityControl, "q1", 5.0),
            (Persona, PersonaTask.ToxicityControl, "q2", 4.5),
        ];

        var report = Calibration.Compare(human, judged);

        // Expected Action: ranks [1,2,3] vs [1,3,2] → rho 0.5, tau 1/3 (one swapped pair of three).
        var expectedAction = report[PersonaTask.ExpectedAction];
        Assert.Equal(3, expectedAction.Matched);
        Assert.Equal(0.5, expectedAction.Spearman!.Value, 1e-12);
        Assert.Equal(1.0 / 3, expectedAction.KendallTauB!.Value, 1e-12);
        // Pooled: human [1,2,3,5,4], judged [1.5,3,2.5,5,4.5]; of 10 pairs only (q2,q3) is discordant → tau 0.8.
        // Ranks [1,2,3,5,4] vs [1,3,2,5,4]: d² = 2 → rho = 1 − 6·2/(5·24) = 0.9.
        Assert.Equal(5, report.Overall.Matched);
        Assert.Equal(0.8, report.Overall.KendallTauB!.Value, 1e-12);
        Assert.Equal(0.9, report.Overall.Spearman!.Value, 1e-12);
    }

    [Fact]
    public void Unmatched_answers_are_counted_on_each_side()
    {
        HumanScore[] human =
        [
            new(Persona, PersonaTask.LinguisticHabits, "q1", 3),
            new(Persona, PersonaTask.LinguisticHabits, "only people", 3),
        ];
        (string, PersonaTask, string, double)[] judged =
        [
            (Persona, PersonaTask.LinguisticHabits, "q1", 2),
            (Persona, PersonaTask.LinguisticHabits, "only judges", 2),
            (Persona, PersonaTask.PersonaConsistency, "q1", 2),
        ];

        var report = Calibration.Compare(human, judged);

        var task = report[PersonaTask.LinguisticHabits];
        Assert.Equal((1, 1, 1), (task.Matched, task.UnmatchedHuman, task.UnmatchedJudged));
        Assert.Null(task.Spearman); // one pair: undefined, not NaN
        Assert.Equal((1, 1, 2), (report.Overall.Matched, report.Overall.UnmatchedHuman, report.Overall.UnmatchedJudged));
    }

    [Fact]
    public void Several_people_on_one_answer_are_averaged_and_white_space_is_folded()
    {
        HumanScore[] human =
        [
            new(Persona, PersonaTask.ExpectedAction, "What  would you do?", 1),
            new(Persona + " ", PersonaTask.ExpectedAction, "What would you do?", 4), // same answer: mean 2.5
            new(Persona, PersonaTask.ExpectedAction, "Why?", 3),
        ];
        (string, PersonaTask, string, double)[] judged =
        [
            (Persona, PersonaTask.ExpectedAction, "What would you do?", 2),
            (Persona, PersonaTask.ExpectedAction, "Why?", 4),
        ];

        var report = Calibration.Compare(human, judged);

        // Human 2.5 < 3 and judged 2 < 4: one concordant pair.
        Assert.Equal(2, report[PersonaTask.ExpectedAction].Matched);
        Assert.Equal(1.0, report[PersonaTask.ExpectedAction].KendallTauB);
    }

    [Fact]
    public void The_same_judged_answer_twice_is_rejected()
    {
        (string, PersonaTask, string, double)[] judged =
        [
            (Persona, PersonaTask.ExpectedAction, "q", 2),
            (Persona, PersonaTask.ExpectedAction, "q", 3),
        ];
        Assert.Throws<ArgumentException>(() => Calibration.Compare([], judged));
    }
}
