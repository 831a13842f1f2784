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
    /// Knight's O(n log n) algorithm, since a pooled benchmark has tens of thousands of items.
    /// </summary>
    public static double? KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPaired(x, y);
        var n = x.Count;
        if (n < 2) return null;

        // Sort by x, then y; count pairs tied in x (n1) and tied in both (n3).
        var order = Enumerable.Range(0, n).OrderBy(i => x[i]).ThenBy(i => y[i]).ToArray();
        long tiedX = 0, tiedBoth = 0;
        for (int start = 0, end; start < n; start = end)
        {
            end = start + 1;
            while (end < n && x[order[end]] == x[order[start]]) end++;
            tiedX += Pairs(end - start);
            for (int s = start, e; s < end; s = e)
            {
                e = s + 1;
                while (e < end && y[order[e]] == y[order[s]]) e++;
                tiedBoth += Pairs(e - s);
            }
        }

        // Sorting the y sequence by merge sort counts its inversions: the pairs discordant in x and y.
        var ys = order.Select(i => y[i]).ToArray();
        var swaps = MergeSortCountingSwaps(ys, new double[n], 0, n);

        long tiedY = 0;
        for (int start = 0, end; start < n; start = end)
        {
            end = start + 1;
            while (end < n && ys[end] == ys[start]) end++;
            tiedY += Pairs(end - start);
        }

        var pairs = Pairs(n);
        var denominator = (double)(pairs - tiedX) * (pairs - tiedY);
        if (denominator <= 0) return null;
        // concordant − discordant = n0 − n1 − n2 + n3 − 2·discordant
        var difference = pairs - tiedX - tiedY + tiedBoth - 2 * swaps;
        return Math.Clamp(difference / Math.Sqrt(denominator), -1.0, 1.0);
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

    private static long Pairs(long count) => count * (count - 1) / 2;

    /// <summary>Sorts values[from..to) ascending and returns the number of strictly inverted pairs.</summary>
    private static long MergeSortCountingSwaps(double[] values, double[] buffer, int from, int to)
    {
        if (to - from < 2) return 0;
        var middle = (from + to) / 2;
        var swaps = MergeSortCountingSwaps(values, buffer, from, middle) + MergeSortCountingSwaps(values, buffer, middle, to);
        int left = from, right = middle, k = from;
        while (left < middle && right < to)
        {
            if (values[left] <= values[right]) buffer[k++] = values[left++];
            else
            {
                // Everything left in the left half is greater than values[right]: each is one inversion.
                swaps += middle - left;
                buffer[k++] = values[right++];
            }
        }
        while (left < middle) buffer[k++] = values[left++];
        while (right < to) buffer[k++] = values[right++];
        Array.Copy(buffer, from, values, from, to - from);
        return swaps;
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
