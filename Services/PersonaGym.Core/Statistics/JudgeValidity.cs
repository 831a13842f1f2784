namespace PersonaGym.Core.Statistics;

/// <summary>One judge's verdict on one answer; <see cref="Score"/> is null for a parse failure.</summary>
/// <param name="ItemKey">Identifies the answer judged: the (persona, model under test, question).</param>
public sealed record ItemJudgement(PersonaTask Task, string ItemKey, string Judge, int? Score);

/// <summary>How closely two judges agree, over the items both of them scored (parse failures left out).</summary>
/// <param name="JudgeA">The first judge of the pair (ordinal order); JudgeB is the second.</param>
/// <param name="Items">Items both judges parsed: the sample every figure is computed on.</param>
public sealed record JudgePairAgreement(
    string JudgeA,
    string JudgeB,
    int Items,
    double? Pearson,
    double? Spearman,
    double? KendallTauB,
    double? MeanAbsoluteDifference,
    double? ExactAgreementRate);

/// <summary>One judge's parse record and score distribution.</summary>
/// <param name="ParseFailureRate">Failures / judgements; null when the judge has no judgements here.</param>
public sealed record JudgeSummary(string Judge, int Judgements, int ParseFailures, double? ParseFailureRate, ScoreDistribution Distribution);

/// <summary>Judge validity for one task, or for all tasks pooled when <see cref="Task"/> is null.</summary>
/// <param name="Judges">Every judge, ordinal order.</param>
/// <param name="Pairs">Every pair of judges, ordinal order.</param>
public sealed record TaskJudgeValidity(
    PersonaTask? Task,
    int Items,
    IReadOnlyList<JudgeSummary> Judges,
    IReadOnlyList<JudgePairAgreement> Pairs);

/// <summary>
/// Can the judges be trusted? Per task and pooled: how often each judge's output could not be parsed, how it
/// spreads its scores, and how well each pair of judges agrees on the same answers.
/// </summary>
/// <param name="Tasks">The five tasks, in <see cref="PersonaTasks.All"/> order (empty sections where nothing was judged).</param>
/// <param name="Overall">All tasks pooled; items are keyed by (task, item key).</param>
public sealed record JudgeValidityReport(IReadOnlyList<TaskJudgeValidity> Tasks, TaskJudgeValidity Overall)
{
    public TaskJudgeValidity this[PersonaTask task] =>
        Tasks.FirstOrDefault(t => t.Task == task)
        ?? throw new KeyNotFoundException($"The report has no entry for {task.DisplayName()}.");
}

public static class JudgeValidity
{
    public static JudgeValidityReport Compute(IEnumerable<ItemJudgement> judgements)
    {
        ArgumentNullException.ThrowIfNull(judgements);
        var all = judgements.ToList();
        Validate(all);

        var tasks = PersonaTasks.All
            .Select(task => Section(task, all.Where(j => j.Task == task).Select(j => (Key: (j.Task, j.ItemKey), j.Judge, j.Score)).ToList()))
            .ToList();
        var overall = Section(null, all.Select(j => (Key: (j.Task, j.ItemKey), j.Judge, j.Score)).ToList());
        return new JudgeValidityReport(tasks, overall);
    }

    private static TaskJudgeValidity Section(PersonaTask? task, List<((PersonaTask, string) Key, string Judge, int? Score)> judgements)
    {
        var byJudge = judgements
            .GroupBy(j => j.Judge, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();

        var judges = byJudge.Select(g =>
        {
            var failures = g.Count(j => j.Score is null);
            return new JudgeSummary(g.Key, g.Count(), failures, g.Any() ? (double)failures / g.Count() : null,
                ScoreDistribution.Of(g.Select(j => j.Score)));
        }).ToList();

        var parsed = byJudge.ToDictionary(
            g => g.Key,
            g => g.Where(j => j.Score is not null).ToDictionary(j => j.Key, j => (double)j.Score!.Value),
            StringComparer.Ordinal);

        var pairs = new List<JudgePairAgreement>();
        for (var a = 0; a < byJudge.Count; a++)
        {
            for (var b = a + 1; b < byJudge.Count; b++)
            {
                var scoresA = parsed[byJudge[a].Key];
                var scoresB = parsed[byJudge[b].Key];
                // Only items both judges parsed: a failure on either side says nothing about agreement.
                var shared = scoresA.Keys.Where(scoresB.ContainsKey)
                    .OrderBy(k => k.Item1).ThenBy(k => k.Item2, StringComparer.Ordinal).ToList();
                var x = shared.Select(k => scoresA[k]).ToList();
                var y = shared.Select(k => scoresB[k]).ToList();
                pairs.Add(new JudgePairAgreement(byJudge[a].Key, byJudge[b].Key, shared.Count,
                    Agreement.Pearson(x, y), Agreement.Spearman(x, y), Agreement.KendallTauB(x, y),
                    Agreement.MeanAbsoluteDifference(x, y), Agreement.ExactAgreementRate(x, y)));
            }
        }

        return new TaskJudgeValidity(task, judgements.Select(j => j.Key).Distinct().Count(), judges, pairs);
    }

    private static void Validate(List<ItemJudgement> judgements)
    {
        var seen = new HashSet<(PersonaTask, string, string)>();
        foreach (var j in judgements)
        {
            ArgumentNullException.ThrowIfNull(j, nameof(judgements));
            if (!Enum.IsDefined(j.Task))
                throw new ArgumentException($"Unknown task value {(int)j.Task}.", nameof(judgements));
            if (string.IsNullOrWhiteSpace(j.Judge) || string.IsNullOrEmpty(j.ItemKey))
                throw new ArgumentException("A judgement lacks its judge name or item key.", nameof(judgements));
            if (!seen.Add((j.Task, j.ItemKey, j.Judge)))
                throw new ArgumentException(
                    $"{j.Task.DisplayName()} item '{j.ItemKey}': judge {j.Judge} appears twice.", nameof(judgements));
        }
    }
}
