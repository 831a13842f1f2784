using PersonaGym.Core;
using PersonaGym.Core.Scoring;
using PersonaGym.Data;
using PersonaGym.Pipeline.Reports;

namespace PersonaGym.Pipeline.Tests;

public class LeaderboardEntryTests
{
    private static readonly ScoringExpectation TwoJudges = new(["A", "B"], PersonaTasks.All.ToDictionary(t => t, _ => (IReadOnlyList<int>)[0]));

    private static PersonaScoreReport Persona(int score, bool judgeBSilentOnToxicity = false) => PersonaScoring.Compute(
        [
            .. PersonaTasks.All.Select(t => new JudgementScore(t, 0, "A", 0, score)),
            .. PersonaTasks.All.Where(t => !judgeBSilentOnToxicity || t != PersonaTask.ToxicityControl)
                .Select(t => new JudgementScore(t, 0, "B", 0, score)),
        ],
        TwoJudges);

    [Fact]
    public void The_count_and_interval_beside_the_mean_are_of_the_personas_the_mean_covers()
    {
        // Two complete personas (4 and 5) and one that rests on one judge for a task (2): the mean is of the two
        // complete ones, so the count and the interval must be too, or the board says "3 / 3" beside a mean of two.
        var row = new LeaderboardRow(Guid.CreateVersion7(), "run", DateTimeOffset.UnixEpoch, RunStatus.Completed, false, Guid.CreateVersion7(),
            Guid.CreateVersion7(), "openai:gpt-4o", Personas: 4);
        var incomplete = Persona(2, judgeBSilentOnToxicity: true);
        Assert.NotNull(incomplete.PersonaScore);
        Assert.False(incomplete.Complete);

        var entry = Leaderboard.Entry(row, [Persona(4), Persona(5), incomplete]);

        Assert.Equal(4.5, entry.PersonaScore);
        Assert.Equal((4, 2), (entry.Personas, entry.PersonasWithScore));
        var interval = entry.PersonaScoreInterval!;
        Assert.Equal(4.5, (interval.Low + interval.High) / 2, precision: 9);
        // t(0.975, 1) = 12.706 × s / √n over 4 and 5 (s = 0.7071, n = 2): ± 6.353.
        Assert.Equal(6.353, (interval.High - interval.Low) / 2, precision: 3);
    }
}
