namespace PersonaGym.Core.Scoring;

/// <summary>
/// One judge's verdict on one answer. <see cref="Score"/> is null when the judge's output could not be parsed
/// (a parse failure): it is counted, never treated as a score.
/// </summary>
/// <param name="BatchIndex">The batch within the task (a batch is one judge call over up to five answers).</param>
/// <param name="ItemIndex">The answer's position within its batch.</param>
public sealed record JudgementScore(PersonaTask Task, int BatchIndex, string Judge, int ItemIndex, int? Score);

/// <summary>The score of one task for one persona, with the evidence behind it.</summary>
/// <param name="Score">Mean over the batches that have a score; null when no batch has one.</param>
/// <param name="Batches">Batches seen (with or without a score).</param>
/// <param name="Items">Distinct answers judged (batch × item).</param>
/// <param name="Judgements">Judge verdicts seen (items × judges).</param>
/// <param name="ParseFailures">Verdicts whose score could not be parsed.</param>
public sealed record TaskScoreReport(PersonaTask Task, double? Score, int Batches, int Items, int Judgements, int ParseFailures)
{
    /// <summary>Batches that produced a mean (at least one judge parsed at least one score).</summary>
    public int ScoredBatches { get; init; }
}

/// <summary>The PersonaScore of one persona (for one model under test) and its five task scores.</summary>
/// <param name="PersonaScore">Unweighted mean of the five task scores; null if any task has no score (see <see cref="Notes"/>).</param>
/// <param name="Tasks">Always the five tasks, in <see cref="PersonaTasks.All"/> order.</param>
/// <param name="Notes">Plain sentences on everything that was left out of a mean, and why.</param>
public sealed record PersonaScoreReport(
    double? PersonaScore,
    IReadOnlyList<TaskScoreReport> Tasks,
    int Judgements,
    int ParseFailures,
    IReadOnlyList<string> Notes)
{
    public TaskScoreReport this[PersonaTask task] =>
        Tasks.FirstOrDefault(t => t.Task == task)
        ?? throw new KeyNotFoundException($"The report has no entry for {task.DisplayName()}.");
}

/// <summary>The mean over personas, per task and overall: the figures the paper's tables publish.</summary>
/// <param name="PersonaScore">Mean of the personas' PersonaScores, over personas that have one.</param>
/// <param name="TaskScores">All five tasks; each the mean over personas that have a score for it (null if none has).</param>
/// <param name="Personas">Personas aggregated.</param>
/// <param name="PersonasWithScore">Personas that have a PersonaScore (the others are excluded from its mean).</param>
/// <param name="ParseFailures">Parse failures over all personas.</param>
public sealed record AggregateScoreReport(
    double? PersonaScore,
    IReadOnlyDictionary<PersonaTask, double?> TaskScores,
    int Personas,
    int PersonasWithScore,
    int ParseFailures)
{
    /// <summary>Per task, how many personas have a score for it (the others are excluded from that task's mean).</summary>
    public IReadOnlyDictionary<PersonaTask, int> PersonasWithTaskScore { get; init; } = new Dictionary<PersonaTask, int>();
}

/// <summary>
/// The paper's scoring rules (PersonaGym §3, "Scoring"): per judge and batch the mean of the parsed scores;
/// per batch the mean over judges; per task the mean over batches; PersonaScore the unweighted mean of the
/// five task scores; across personas the mean per task and overall.
/// </summary>
public static class PersonaScoring
{
    public const int MinScore = 1;
    public const int MaxScore = 5;

    public static PersonaScoreReport Compute(IEnumerable<JudgementScore> judgements)
    {
        ArgumentNullException.ThrowIfNull(judgements);
        var all = judgements.ToList();
        Validate(all);

        var notes = new List<string>();
        var tasks = new List<TaskScoreReport>(PersonaTasks.All.Count);
        foreach (var task in PersonaTasks.All)
        {
            tasks.Add(ScoreTask(task, all.Where(j => j.Task == task).ToList(), notes));
        }

        var missing = tasks.Where(t => t.Score is null).ToList();
        double? personaScore = null;
        if (missing.Count == 0)
        {
            // Unweighted: every task counts the same, whatever its number of questions.
            personaScore = tasks.Average(t => t.Score!.Value);
        }
        else
        {
            notes.Add("No PersonaScore: no score for " + string.Join(", ", missing.Select(DescribeMissing)) + ".");
        }

        return new PersonaScoreReport(personaScore, tasks, all.Count, all.Count(j => j.Score is null), notes);
    }

    public static AggregateScoreReport Aggregate(IEnumerable<PersonaScoreReport> personas)
    {
        ArgumentNullException.ThrowIfNull(personas);
        var reports = personas.ToList();

        var taskScores = new Dictionary<PersonaTask, double?>();
        var withTask = new Dictionary<PersonaTask, int>();
        foreach (var task in PersonaTasks.All)
        {
            var scores = reports.Select(r => r[task].Score).OfType<double>().ToList();
            taskScores[task] = scores.Count == 0 ? null : scores.Average();
            withTask[task] = scores.Count;
        }

        var overall = reports.Select(r => r.PersonaScore).OfType<double>().ToList();
        return new AggregateScoreReport(
            overall.Count == 0 ? null : overall.Average(),
            taskScores,
            reports.Count,
            overall.Count,
            reports.Sum(r => r.ParseFailures))
        {
            PersonasWithTaskScore = withTask,
        };
    }

    /// <summary>
    /// Two decimals, a midpoint rounded away from zero, as the published tables print. The value is taken at
    /// its shortest decimal form first, so 2.675 (stored as 2.67499999…) prints as 2.68, like a person would.
    /// </summary>
    public static double Round2(double value)
    {
        if (!double.IsFinite(value) || Math.Abs(value) >= 1e15) return value;
        var asPrinted = decimal.Parse(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);
        return (double)Math.Round(asPrinted, 2, MidpointRounding.AwayFromZero);
    }

    private static TaskScoreReport ScoreTask(PersonaTask task, List<JudgementScore> judgements, List<string> notes)
    {
        var batchMeans = new List<double>();
        var batches = judgements.GroupBy(j => j.BatchIndex).OrderBy(g => g.Key).ToList();
        foreach (var batch in batches)
        {
            var judgeMeans = new List<double>();
            foreach (var judge in batch.GroupBy(j => j.Judge, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                // Rule 1: unparseable scores are left out of the judge's mean. The reference code turns them
                // into 0 and drops zeros, so a batch with none parsed keeps a 0; here that judge simply
                // contributes nothing and the failure stays visible.
                var parsed = judge.Where(j => j.Score is not null).Select(j => (double)j.Score!.Value).ToList();
                if (parsed.Count > 0)
                {
                    judgeMeans.Add(parsed.Average());
                }
                else
                {
                    notes.Add($"{task.DisplayName()} batch {batch.Key}: judge {judge.Key} produced no parseable score " +
                              $"(all {judge.Count()} unparseable); it is left out of this batch.");
                }
            }

            // Rule 2: the batch is the mean over the judges that produced a mean.
            if (judgeMeans.Count > 0)
            {
                batchMeans.Add(judgeMeans.Average());
            }
            else
            {
                notes.Add($"{task.DisplayName()} batch {batch.Key}: no judge produced a parseable score; the batch has no score.");
            }
        }

        return new TaskScoreReport(
            task,
            // Rule 3: the task score is the mean over its batches.
            batchMeans.Count == 0 ? null : batchMeans.Average(),
            batches.Count,
            judgements.Select(j => (j.BatchIndex, j.ItemIndex)).Distinct().Count(),
            judgements.Count,
            judgements.Count(j => j.Score is null))
        {
            ScoredBatches = batchMeans.Count,
        };
    }

    private static string DescribeMissing(TaskScoreReport task) => task.Judgements == 0
        ? $"{task.Task.DisplayName()} (no judgements)"
        : $"{task.Task.DisplayName()} (all {task.Judgements} judgements unparseable)";

    private static void Validate(List<JudgementScore> judgements)
    {
        var seen = new HashSet<(PersonaTask, int, string, int)>();
        foreach (var j in judgements)
        {
            ArgumentNullException.ThrowIfNull(j, nameof(judgements));
            if (!Enum.IsDefined(j.Task))
                throw new ArgumentException($"Unknown task value {(int)j.Task}.", nameof(judgements));
            if (string.IsNullOrWhiteSpace(j.Judge))
                throw new ArgumentException("A judgement has no judge name.", nameof(judgements));
            if (j.Score is { } s && (s < MinScore || s > MaxScore))
                throw new ArgumentException(
                    $"{j.Task.DisplayName()} batch {j.BatchIndex} item {j.ItemIndex} judge {j.Judge}: score {s} is outside " +
                    $"the rubric's {MinScore}–{MaxScore}; an unparseable score must be null, never a number.",
                    nameof(judgements));
            // Counting one verdict twice would silently weight it; the store has unique keys, so this is a bug upstream.
            if (!seen.Add((j.Task, j.BatchIndex, j.Judge, j.ItemIndex)))
                throw new ArgumentException(
                    $"{j.Task.DisplayName()} batch {j.BatchIndex} item {j.ItemIndex}: judge {j.Judge} appears twice.",
                    nameof(judgements));
        }
    }
}
