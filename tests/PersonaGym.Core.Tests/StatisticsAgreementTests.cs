using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Tests;

public class StatisticsAgreementTests
{
    private const double Tolerance = 1e-12;

    // A fixture with ties on both sides. Expected values were computed independently with exact fractions
    // (Python's fractions module; Kendall's tau-b from tie-group counts n1 = Σ t(t−1)/2, not pair scanning):
    //   ranks x = [1, 2.5, 2.5, 4, 5, 7, 7, 7]        ranks y = [2, 1, 3.5, 3.5, 7.5, 5.5, 7.5, 5.5]
    //   Pearson  = (103/8) / √((143/8)(111/8)) = 103 / √15873           = 0.8175375638878426
    //   Spearman = (129/4) / √((79/2)(81/2))   = 129 / (2 √6399)        = 0.8063129956636504
    //   tau-b    = S / √((n0 − n1)(n0 − n2)) with S = 16, n0 = 28, n1 = 4, n2 = 3 = 16 / √600 = 0.6531972647421809
    //   |x − y| = [1,1,1,0,1,1,0,1] → 6/8 = 0.75;  equal in 2 of 8 → 0.25
    private static readonly double[] X = [1, 2, 2, 3, 4, 5, 5, 5];
    private static readonly double[] Y = [2, 1, 3, 3, 5, 4, 5, 4];

    [Fact]
    public void Average_ranks_share_the_mean_rank_among_ties()
    {
        Assert.Equal([1, 2.5, 2.5, 4, 5, 7, 7, 7], Agreement.AverageRanks(X));
        Assert.Equal([2, 1, 3.5, 3.5, 7.5, 5.5, 7.5, 5.5], Agreement.AverageRanks(Y));
    }

    [Fact]
    public void Average_ranks_keep_input_order()
    {
        Assert.Equal([3, 1, 2], Agreement.AverageRanks([9.0, 1.0, 4.0]));
    }

    [Fact]
    public void Pearson_matches_the_independent_calculation()
    {
        Assert.Equal(103 / Math.Sqrt(15873), Agreement.Pearson(X, Y)!.Value, Tolerance);
        Assert.Equal(0.8175375638878426, Agreement.Pearson(X, Y)!.Value, Tolerance);
    }

    [Fact]
    public void Spearman_with_ties_matches_the_independent_calculation()
    {
        Assert.Equal(0.8063129956636504, Agreement.Spearman(X, Y)!.Value, Tolerance);
    }

    [Fact]
    public void Kendall_tau_b_with_ties_matches_the_independent_calculation()
    {
        Assert.Equal(16 / Math.Sqrt(600), Agreement.KendallTauB(X, Y)!.Value, Tolerance);
    }

    [Fact]
    public void Kendall_tau_b_by_hand_on_three_items_with_a_tie_each_side()
    {
        // Pairs: (1,2) tied in x; (1,3) concordant; (2,3) tied in y → (1 − 0) / √((3 − 1)(3 − 1)) = 0.5.
        Assert.Equal(0.5, Agreement.KendallTauB([1, 1, 2], [1, 2, 2])!.Value, Tolerance);
    }

    [Fact]
    public void Spearman_and_kendall_by_hand_on_one_swap()
    {
        // Ranks [1,2,3] vs [1,3,2]: d² = 0+1+1 = 2 → rho = 1 − 6·2/(3·8) = 0.5; pairs +1 −1 +1 → tau = 1/3.
        Assert.Equal(0.5, Agreement.Spearman([1, 2, 3], [1, 3, 2])!.Value, Tolerance);
        Assert.Equal(1.0 / 3, Agreement.KendallTauB([1, 2, 3], [1, 3, 2])!.Value, Tolerance);
    }

    [Fact]
    public void Kendall_tau_b_agrees_with_a_direct_pair_count_on_many_tied_scores()
    {
        var random = new Random(20240710);
        for (var run = 0; run < 50; run++)
        {
            var n = random.Next(2, 60);
            var x = Enumerable.Range(0, n).Select(_ => (double)random.Next(1, 6)).ToArray();
            var y = Enumerable.Range(0, n).Select(_ => (double)random.Next(1, 6)).ToArray();
            Assert.Equal(TauBByPairs(x, y) ?? double.NaN, Agreement.KendallTauB(x, y) ?? double.NaN, 1e-12);
        }
    }

    // The definition, pair by pair: an independent check of the O(n log n) implementation.
    private static double? TauBByPairs(double[] x, double[] y)
    {
        long s = 0, tiedX = 0, tiedY = 0, pairs = 0;
        for (var i = 0; i < x.Length; i++)
        {
            for (var j = i + 1; j < x.Length; j++)
            {
                pairs++;
                int dx = Math.Sign(x[i] - x[j]), dy = Math.Sign(y[i] - y[j]);
                if (dx == 0) tiedX++;
                if (dy == 0) tiedY++;
                s += dx * dy;
            }
        }
        var denominator = (double)(pairs - tiedX) * (pairs - tiedY);
        return denominator == 0 ? null : s / Math.Sqrt(denominator);
    }

    [Fact]
    public void Perfectly_reversed_series_correlate_minus_one()
    {
        double[] up = [1, 2, 3, 4], down = [4, 3, 2, 1];
        Assert.Equal(-1.0, Agreement.Pearson(up, down)!.Value, Tolerance);
        Assert.Equal(-1.0, Agreement.Spearman(up, down)!.Value, Tolerance);
        Assert.Equal(-1.0, Agreement.KendallTauB(up, down)!.Value, Tolerance);
    }

    [Fact]
    public void Mean_absolute_difference_and_exact_agreement_match_the_fixture()
    {
        Assert.Equal(0.75, Agreement.MeanAbsoluteDifference(X, Y));
        Assert.Equal(0.25, Agreement.ExactAgreementRate(X, Y));
    }

    [Fact]
    public void Correlations_are_null_for_fewer_than_two_pairs()
    {
        Assert.Null(Agreement.Pearson([], []));
        Assert.Null(Agreement.Spearman([3], [4]));
        Assert.Null(Agreement.KendallTauB([3], [4]));
    }

    [Fact]
    public void Correlations_are_null_when_one_side_is_constant()
    {
        double[] constant = [4, 4, 4], varied = [1, 2, 3];
        Assert.Null(Agreement.Pearson(constant, varied));
        Assert.Null(Agreement.Spearman(varied, constant));
        Assert.Null(Agreement.KendallTauB(constant, varied));
    }

    [Fact]
    public void Difference_and_agreement_are_null_without_pairs_but_defined_for_one()
    {
        Assert.Null(Agreement.MeanAbsoluteDifference([], []));
        Assert.Null(Agreement.ExactAgreementRate([], []));
        Assert.Equal(2.0, Agreement.MeanAbsoluteDifference([5], [3]));
        Assert.Equal(0.0, Agreement.ExactAgreementRate([5], [3]));
    }

    [Fact]
    public void Series_of_different_length_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Agreement.Pearson([1, 2], [1, 2, 3]));
    }

    [Fact]
    public void Non_finite_scores_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Agreement.Spearman([1, double.NaN], [1, 2]));
    }

    [Fact]
    public void Score_distribution_counts_each_level_and_failures()
    {
        var distribution = ScoreDistribution.Of([5, 4, null, 4, 1, null, 4]);

        Assert.Equal([1, 0, 0, 3, 1], Enumerable.Range(1, 5).Select(level => distribution.Counts[level]));
        Assert.Equal((2, 5, 7), (distribution.Failures, distribution.Parsed, distribution.Total));
        Assert.Equal(2.0 / 7, distribution.FailureRate!.Value, Tolerance);
    }

    [Fact]
    public void Empty_score_distribution_has_every_level_at_zero_and_no_failure_rate()
    {
        var distribution = ScoreDistribution.Of([]);

        Assert.Equal([1, 2, 3, 4, 5], distribution.Counts.Keys);
        Assert.All(distribution.Counts.Values, c => Assert.Equal(0, c));
        Assert.Null(distribution.FailureRate);
    }

    [Fact]
    public void Score_distribution_rejects_scores_outside_the_rubric()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ScoreDistribution.Of([3, 0]));
    }
}
