namespace PersonaGym.Core.Statistics;

/// <summary>How often each rubric level 1–5 was given, and how many verdicts could not be parsed.</summary>
/// <param name="Counts">Always the five keys 1..5 (zero where a level was never given).</param>
/// <param name="Failures">Verdicts without a parsed score.</param>
public sealed record ScoreDistribution(IReadOnlyDictionary<int, int> Counts, int Failures)
{
    public const int MinScore = 1;
    public const int MaxScore = 5;

    public int Parsed => Counts.Values.Sum();

    public int Total => Parsed + Failures;

    /// <summary>Failures / total; null when there is nothing to count.</summary>
    public double? FailureRate => Total == 0 ? null : (double)Failures / Total;

    /// <summary>Counts the scores; null is a parse failure. A score outside 1–5 is a caller error and throws.</summary>
    public static ScoreDistribution Of(IEnumerable<int?> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var counts = new SortedDictionary<int, int>();
        for (var level = MinScore; level <= MaxScore; level++) counts[level] = 0;
        var failures = 0;
        foreach (var score in scores)
        {
            if (score is not { } s) { failures++; continue; }
            if (s < MinScore || s > MaxScore)
                throw new ArgumentOutOfRangeException(nameof(scores), s, $"A rubric score is {MinScore}–{MaxScore}.");
            counts[s]++;
        }
        return new ScoreDistribution(counts, failures);
    }
}
