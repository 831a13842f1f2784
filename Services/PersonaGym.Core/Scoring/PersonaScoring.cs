namespace PersonaGym.Core.Scoring;

/// <summary>
/// One judge's verdict on one answer. <see cref="Score"/> is null when the judge's output could not be parsed
/// (a parse failure): it is counted, never treated as a score.
/// </summary>
/// <param name="BatchIndex">The batch within the task (a batch is one judge call over up to five answers).</param>
/// <param name="ItemIndex">The answer's position within its batch.</param>
public sealed record JudgementScore(PersonaTask Task, int BatchIndex, string Judge, int ItemIndex, int? Score);

/// <summary>The score of one task for one persona, with the evidence behind it.</summary>
/// <param name="Score">Mean over the batches that have a score, each weighted by its questions; null when no batch has one.</param>
/// <param name="Batches">Batches seen (with or without a score).</param>
/// <param name="Items">Distinct answers judged (batch × item).</param>
/// <param name="Judgements">Judge verdicts seen (items × judges).</param>
/// <param name="ParseFailures">Verdicts whose score could not be parsed.</param>
public sealed record TaskScoreReport(PersonaTask Task, double? Score, int Batches, int Items, int Judgements, int ParseFailures)
{
    /// <summary>Batches that produced a mean (at least one judge parsed at least one score).</summary>
    public int ScoredBatches { get; init; }

    /// <summary>Batches the task should have (from the run's plan; without one, the batches seen).</summary>
    public int ExpectedBatches { get; init; }

    /// <summary>Expected batches without any score: failed, not judged yet, or every verdict unparseable.</summary>
    public int MissingBatches { get; init; }

    /// <summary>Judge × batch pairs of scored batches where that judge gave no parsed score: those batches rest on fewer judges.</summary>
    public int MissingJudgements { get; init; }

    /// <summary>True when every expected batch has a score from every judge.</summary>
    public bool Complete => MissingBatches == 0 && MissingJudgements == 0;
}

/// <summary>
/// What one persona's scores should rest on, so that whatever is missing is counted rather than silently averaged
/// over: every judge of the run on every batch of every task.
/// </summary>
/// <param name="Judges">The run's judges.</param>
/// <param name="Batches">Per task, the batch indexes the run planned.</param>
public sealed record ScoringExpectation(IReadOnlyList<string> Judges, IReadOnlyDictionary<PersonaTask, IReadOnlyList<int>> Batches)
{
    /// <summary>Batches that finally failed, with their reasons.</summary>
    public IReadOnlyDictionary<(PersonaTask Task, int BatchIndex), string> FailedBatches { get; init; } =
        new Dictionary<(PersonaTask Task, int BatchIndex), string>();

    /// <summary>Why the persona as a whole failed (its questions could not be written), or null.</summary>
    public string? PersonaFailure { get; init; }
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

    /// <summary>Expected batches without a score, over the five tasks.</summary>
    public int MissingBatches => Tasks.Sum(t => t.MissingBatches);

    /// <summary>Judge × batch pairs without a parsed score, over the five tasks.</summary>
    public int MissingJudgements => Tasks.Sum(t => t.MissingJudgements);

    /// <summary>Set when the persona failed as a whole.</summary>
    public string? Failure { get; init; }

    /// <summary>
    /// True when the PersonaScore rests on every judge and every batch of every task. Model-level means use complete
    /// personas only by default, so an incomplete persona is never silently mixed in.
    /// </summary>
    public bool Complete => Failure is null && PersonaScore is not null && Tasks.All(t => t.Complete);
}

/// <summary>The mean over personas, per task and overall: the figures the paper's tables publish.</summary>
/// <param name="PersonaScore">Mean of the personas' PersonaScores, over personas that have one.</param>
/// <param name="TaskScores">All five tasks; each the mean over personas that have a score for it (null if none has).</param>
/// <param name="Personas">Personas aggregated.</param>
/// <param name="PersonasWithScore">Personas that have a PersonaScore, complete or not (those without one are never in a mean).</param>
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

    /// <summary>Personas whose scores rest on every judge and batch.</summary>
    public int CompletePersonas { get; init; }

    /// <summary>Incomplete personas left out of the means (0 when <see cref="IncludesIncomplete"/>).</summary>
    public int PersonasLeftOut { get; init; }

    /// <summary>True when the means were asked to include incomplete personas too.</summary>
    public bool IncludesIncomplete { get; init; }
}

/// <summary>
/// The paper's scoring rules (PersonaGym §3, "Scoring"): per judge and batch the mean of the parsed scores;
/// per batch the mean over judges; per task the mean over batches, each counting for its questions (= over questions);
/// PersonaScore the unweighted mean of the
/// five task scores; across personas the mean per task and overall.
/// </summary>
public static class PersonaScoring
{
    public const int MinScore = 1;
    public const int MaxScore = 5;

    /// <summary>
    /// The persona's scores. With an <paramref name="expected"/> plan, batches and judges it lacks are counted as
    /// missing; without one, the batches and judges seen are what is expected.
    /// </summary>
    public static PersonaScoreReport Compute(IEnumerable<JudgementScore> judgements, ScoringExpectation? expected = null)
    {
        ArgumentNullException.ThrowIfNull(judgements);
        var all = judgements.ToList();
        Validate(all);
        expected ??= new ScoringExpectation(
            all.Select(j => j.Judge).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
            PersonaTasks.All.ToDictionary(t => t, t => (IReadOnlyList<int>)all.Where(j => j.Task == t).Select(j => j.BatchIndex).Distinct().Order().ToList()));

        var notes = new List<string>();
        if (expected.PersonaFailure is { } failure) notes.Add($"The persona failed: {failure}");
        var tasks = new List<TaskScoreReport>(PersonaTasks.All.Count);
        foreach (var task in PersonaTasks.All)
        {
            tasks.Add(ScoreTask(task, all.Where(j => j.Task == task).ToList(), expected, notes));
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

        return new PersonaScoreReport(personaScore, tasks, all.Count, all.Count(j => j.Score is null), notes) { Failure = expected.PersonaFailure };
    }

    /// <summary>
    /// The means over personas. By default only complete personas count (<see cref="PersonaScoreReport.Complete"/>);
    /// how many were left out is reported. With <paramref name="includeIncomplete"/>, every persona with a score counts.
    /// </summary>
    public static AggregateScoreReport Aggregate(IEnumerable<PersonaScoreReport> personas, bool includeIncomplete = false)
    {
        ArgumentNullException.ThrowIfNull(personas);
        var reports = personas.ToList();
        var counted = includeIncomplete ? reports : reports.Where(r => r.Complete).ToList();

        var taskScores = new Dictionary<PersonaTask, double?>();
        var withTask = new Dictionary<PersonaTask, int>();
        foreach (var task in PersonaTasks.All)
        {
            var scores = counted.Select(r => r[task].Score).OfType<double>().ToList();
            taskScores[task] = scores.Count == 0 ? null : scores.Average();
            withTask[task] = scores.Count;
        }

        var overall = counted.Select(r => r.PersonaScore).OfType<double>().ToList();
        return new AggregateScoreReport(
            overall.Count == 0 ? null : overall.Average(),
            taskScores,
            reports.Count,
            reports.Count(r => r.PersonaScore is not null),
            reports.Sum(r => r.ParseFailures))
        {
            PersonasWithTaskScore = withTask,
            CompletePersonas = reports.Count(r => r.Complete),
            PersonasLeftOut = reports.Count - counted.Count,
            IncludesIncomplete = includeIncomplete,
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

    private static TaskScoreReport ScoreTask(PersonaTask task, List<JudgementScore> judgements, ScoringExpectation expected, List<string> notes)
    {
        var batchMeans = new List<(double Mean, int Questions)>();
        var planned = expected.Batches.TryGetValue(task, out var indexes) ? indexes : [];
        var batchIndexes = planned.Concat(judgements.Select(j => j.BatchIndex)).Distinct().Order().ToList();
        var missingBatches = 0;
        var missingJudgements = 0;
        foreach (var index in batchIndexes)
        {
            var batch = judgements.Where(j => j.BatchIndex == index).ToList();
            var judgeMeans = new List<double>();
            var silent = new List<string>();
            foreach (var judge in expected.Judges.Concat(batch.Select(j => j.Judge)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                // Rule 1: unparseable scores are left out of the judge's mean. The reference code turns them
                // into 0 and drops zeros, so a batch with none parsed keeps a 0; here that judge simply
                // contributes nothing and the gap is counted and said.
                var verdicts = batch.Where(j => j.Judge == judge).ToList();
                var parsed = verdicts.Where(j => j.Score is not null).Select(j => (double)j.Score!.Value).ToList();
                if (parsed.Count > 0) judgeMeans.Add(parsed.Average());
                else silent.Add(verdicts.Count == 0 ? $"{judge} (no verdicts)" : $"{judge} (all {verdicts.Count} unparseable)");
            }

            var failedReason = expected.FailedBatches.TryGetValue((task, index), out var reason) ? reason : null;
            // Rule 2: the batch is the mean over the judges that produced a mean.
            if (judgeMeans.Count > 0)
            {
                batchMeans.Add((judgeMeans.Average(), batch.Select(j => j.ItemIndex).Distinct().Count()));
                if (silent.Count > 0)
                {
                    missingJudgements += silent.Count;
                    notes.Add($"{task.DisplayName()} batch {index + 1} rests on {judgeMeans.Count} of {judgeMeans.Count + silent.Count} judges: " +
                              $"no parsed score from {string.Join(", ", silent)}.");
                }
            }
            else
            {
                missingBatches++;
                notes.Add($"{task.DisplayName()} batch {index + 1} has no score" +
                          (failedReason is not null ? $": it failed ({failedReason})." : batch.Count == 0 ? ": it was not judged." : ": no judge produced a parseable score."));
            }
        }

        return new TaskScoreReport(
            task,
            // Rule 3: the task score is the mean over its batches, which is the mean over its questions.
            MeanOverQuestions(batchMeans),
            batchIndexes.Count,
            judgements.Select(j => (j.BatchIndex, j.ItemIndex)).Distinct().Count(),
            judgements.Count,
            judgements.Count(j => j.Score is null))
        {
            ScoredBatches = batchMeans.Count,
            ExpectedBatches = batchIndexes.Count,
            MissingBatches = missingBatches,
            MissingJudgements = missingJudgements,
        };
    }

    /// <summary>
    /// The mean of the batch means, each weighted by its questions. Batches of one size (the paper's 10 questions in
    /// batches of 5) give exactly the plain mean of the batches; a shorter last batch (7 questions in batches of 5)
    /// counts for its 2 questions, not as much as the other 5.
    /// </summary>
    private static double? MeanOverQuestions(List<(double Mean, int Questions)> batches)
    {
        if (batches.Count == 0) return null;
        if (batches.All(b => b.Questions == batches[0].Questions)) return batches.Average(b => b.Mean);
        return batches.Sum(b => b.Mean * b.Questions) / batches.Sum(b => b.Questions);
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
