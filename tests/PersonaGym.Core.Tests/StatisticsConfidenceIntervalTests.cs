using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Tests;

/// <summary>
/// The leaderboard's 95 % interval of a mean PersonaScore: Student's t, mean ± t(0.975, n − 1) · s / √n. The expected
/// bounds are worked out here by hand, with the t quantiles from their closed forms (one, two and four degrees of
/// freedom) or a printed t table, independently of the code's numerical inverse.
/// </summary>
public class StatisticsConfidenceIntervalTests
{
    // Closed forms of the t quantile (Hill 1970): df 1 is the Cauchy, df 2 and df 4 solve in radicals.
    private static double T1(double p) => Math.Tan(Math.PI * (p - 0.5));

    private static double T2(double p) => (2 * p - 1) / Math.Sqrt(2 * p * (1 - p));

    private static double T4(double p)
    {
        var alpha = 4 * p * (1 - p);
        var q = Math.Cos(Math.Acos(Math.Sqrt(alpha)) / 3) / Math.Sqrt(alpha);
        return Math.Sign(p - 0.5) * 2 * Math.Sqrt(q - 1);
    }

    [Fact]
    public void The_t_quantile_matches_its_closed_forms()
    {
        foreach (var p in new[] { 0.6, 0.9, 0.975, 0.995 })
        {
            Assert.Equal(T1(p), StudentT.Quantile(p, 1), precision: 9);
            Assert.Equal(T2(p), StudentT.Quantile(p, 2), precision: 9);
            Assert.Equal(T4(p), StudentT.Quantile(p, 4), precision: 9);
        }
        Assert.Equal(12.706, StudentT.Quantile(0.975, 1), precision: 3);
        Assert.Equal(4.303, StudentT.Quantile(0.975, 2), precision: 3);
    }

    [Theory]
    // Two-sided 95 % values of a printed t table (three decimals).
    [InlineData(3, 3.182)]
    [InlineData(5, 2.571)]
    [InlineData(9, 2.262)]
    [InlineData(19, 2.093)]
    [InlineData(29, 2.045)]
    [InlineData(120, 1.980)]
    public void The_t_quantile_matches_the_printed_table(int degreesOfFreedom, double printed) =>
        Assert.Equal(printed, StudentT.Quantile(0.975, degreesOfFreedom), precision: 3);

    [Fact]
    public void With_many_degrees_of_freedom_the_t_quantile_is_the_normal_one_and_it_is_symmetric()
    {
        // The normal quantile plus the first Cornish-Fisher term (z³ + z) / 4ν; the next is below 1e-11 here.
        const double Z = 1.959963984540054;
        Assert.Equal(Z + (Z * Z * Z + Z) / (4 * 1e6), StudentT.Quantile(0.975, 1_000_000), precision: 9);
        Assert.Equal(-StudentT.Quantile(0.975, 7), StudentT.Quantile(0.025, 7), precision: 12);
        Assert.Equal(0.0, StudentT.Quantile(0.5, 3));
        Assert.Equal(0.975, StudentT.Cdf(StudentT.Quantile(0.975, 11), 11), precision: 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Quantile(1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Quantile(0.975, 0));
    }

    [Fact]
    public void Three_scores_give_the_mean_plus_or_minus_t_with_two_degrees_of_freedom_standard_errors()
    {
        // 3, 4, 5: mean 4; deviations -1, 0, 1, so s² = 2 / 2 = 1 and the standard error is 1/√3.
        var interval = ConfidenceInterval.Of95([3.0, 4.0, 5.0])!;
        var half = T2(0.975) / Math.Sqrt(3); // 4.3027 × 0.5774 = 2.4841
        Assert.Equal(4 - half, interval.Low, precision: 9);
        Assert.Equal(4 + half, interval.High, precision: 9);
        Assert.Equal(1.516, interval.Low, precision: 3);
        Assert.Equal(6.484, interval.High, precision: 3);
    }

    [Fact]
    public void Two_scores_give_a_wide_interval_of_twelve_point_seven_standard_errors()
    {
        // 4.2, 4.6: mean 4.4; s² = (0.04 + 0.04) / 1 = 0.08, standard error √(0.08 / 2) = 0.2.
        var interval = ConfidenceInterval.Of95([4.2, 4.6])!;
        Assert.Equal(4.4 - T1(0.975) * 0.2, interval.Low, precision: 9);
        Assert.Equal(4.4 + T1(0.975) * 0.2, interval.High, precision: 9);
        Assert.Equal(1.859, interval.Low, precision: 3);
        Assert.Equal(6.941, interval.High, precision: 3);
    }

    [Fact]
    public void Five_scores_give_the_mean_plus_or_minus_t_with_four_degrees_of_freedom_standard_errors()
    {
        // 2.5 … 4.5 in steps of 0.5: mean 3.5; squared deviations 1, 0.25, 0, 0.25, 1 sum to 2.5, so s² = 0.625
        // and the standard error is √(0.625 / 5) = 0.35355.
        var interval = ConfidenceInterval.Of95([2.5, 3.0, 3.5, 4.0, 4.5])!;
        var half = T4(0.975) * Math.Sqrt(0.625 / 5); // 2.7764 × 0.35355 = 0.98162
        Assert.Equal(3.5 - half, interval.Low, precision: 9);
        Assert.Equal(3.5 + half, interval.High, precision: 9);
        Assert.Equal(2.518, interval.Low, precision: 3);
        Assert.Equal(4.482, interval.High, precision: 3);
    }

    [Fact]
    public void Fewer_than_two_scores_have_no_interval()
    {
        Assert.Null(ConfidenceInterval.Of95([]));
        Assert.Null(ConfidenceInterval.Of95([4.2]));
    }

    [Fact]
    public void Equal_scores_give_an_interval_with_no_width_at_the_score()
    {
        Assert.Equal(new ConfidenceInterval(4.0, 4.0), ConfidenceInterval.Of95([4.0, 4.0, 4.0, 4.0]));
        // 3.8 has no exact binary form: the mean of three may be off in the last digit, the width stays nil.
        var interval = ConfidenceInterval.Of95([3.8, 3.8, 3.8])!;
        Assert.Equal(3.8, interval.Low, precision: 12);
        Assert.Equal(3.8, interval.High, precision: 12);
    }

    [Fact]
    public void Drawn_from_a_normal_population_three_at_a_time_the_interval_holds_the_true_mean_95_times_in_100()
    {
        // The point of t: with three personas the normal ± 1.96 standard errors would hold the mean only ~81 % of the time.
        var random = new Random(20240710);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        const int Samples = 20_000;
        const double Mean = 4.1, Sd = 0.4;
        var held = 0;
        for (var i = 0; i < Samples; i++)
        {
            var interval = ConfidenceInterval.Of95([Mean + Sd * Normal(), Mean + Sd * Normal(), Mean + Sd * Normal()])!;
            if (interval.Low <= Mean && Mean <= interval.High) held++;
        }
        Assert.InRange((double)held / Samples, 0.94, 0.96);
    }
}
