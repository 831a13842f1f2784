namespace PersonaGym.Core.Statistics;

/// <summary>
/// Agreement between two paired series of scores (two judges on the same answers, or a judge and people).
/// Every measure returns null where it is undefined (too few pairs, no variance) rather than NaN.
/// Series of different lengths or with non-finite values are a caller error and throw.
/// </summary>
public static class Agreement
{
    /// <summary>Pearson's r; null for fewer than two pairs or when either series is constant.</summary>
    public static double? Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPaired(x, y);
        var n = x.Count;
        if (n < 2) return null;
        double meanX = x.Average(), meanY = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < n; i++)
        {
            double dx = x[i] - meanX, dy = y[i] - meanY;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) return null;
        // Clamp: rounding can push a perfect correlation a hair past ±1.
        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1.0, 1.0);
    }

    /// <summary>Spearman's rho: Pearson's r of the average ranks (ties share the mean of their ranks).</summary>
    public static double? Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPaired(x, y);
        return x.Count < 2 ? null : Pearson(AverageRanks(x), AverageRanks(y));
    }

    /// <summary>
    /// Kendall's tau-b: (concordant − discordant) / √((n₀ − n₁)(n₀ − n₂)), where n₀ is the number of pairs and
    /// n₁, n₂ the pairs tied in x and in y. Null for fewer than two pairs or when either series is constant.
    /// Quadratic, which is fine for the hundreds of items an evaluation has.
    /// </summary>
    public static double? KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPaired(x, y);
        var n = x.Count;
        if (n < 2) return null;
        long concordant = 0, discordant = 0, tiedX = 0, tiedY = 0;
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var dx = Math.Sign(x[i] - x[j]);
                var dy = Math.Sign(y[i] - y[j]);
                if (dx == 0) tiedX++;
                if (dy == 0) tiedY++;
                if (dx == 0 || dy == 0) continue;
                if (dx == dy) concordant++; else discordant++;
            }
        }
        var pairs = (long)n * (n - 1) / 2;
        var denominator = (double)(pairs - tiedX) * (pairs - tiedY);
        if (denominator <= 0) return null;
        return Math.Clamp((concordant - discordant) / Math.Sqrt(denominator), -1.0, 1.0);
    }

    /// <summary>Mean of |x − y|; null when there are no pairs.</summary>
    public static double? MeanAbsoluteDifference(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPaired(x, y);
        if (x.Count == 0) return null;
        double sum = 0;
        for (var i = 0; i < x.Count; i++) sum += Math.Abs(x[i] - y[i]);
        return sum / x.Count;
    }

    /// <summary>Share of pairs with exactly the same score; null when there are no pairs.</summary>
    public static double? ExactAgreementRate(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPaired(x, y);
        if (x.Count == 0) return null;
        var same = 0;
        for (var i = 0; i < x.Count; i++) if (x[i] == y[i]) same++;
        return (double)same / x.Count;
    }

    /// <summary>1-based ranks in input order; tied values all get the mean of the ranks they span.</summary>
    public static IReadOnlyList<double> AverageRanks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckFinite(values, nameof(values));
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            // Positions start..end (0-based) hold ranks start+1..end+1; their mean is the midpoint.
            var rank = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }

    private static void CheckPaired(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
            throw new ArgumentException($"Paired series differ in length ({x.Count} and {y.Count}).", nameof(y));
        CheckFinite(x, nameof(x));
        CheckFinite(y, nameof(y));
    }

    private static void CheckFinite(IReadOnlyList<double> values, string name)
    {
        for (var i = 0; i < values.Count; i++)
            if (!double.IsFinite(values[i]))
                throw new ArgumentException($"Value {i} is {values[i]}; scores must be finite numbers.", name);
    }
}
