namespace PersonaGym.Core.Statistics;

/// <summary>A person's score for one answer (several people may score the same answer: they are averaged).</summary>
public sealed record HumanScore(string Persona, PersonaTask Task, string Question, double Score);

/// <summary>Rank agreement between people and the judges' mean, for one task or (Task null) all tasks pooled.</summary>
/// <param name="Matched">Answers scored by both people and judges: the sample the correlations use.</param>
/// <param name="UnmatchedHuman">Answers people scored that the judges did not.</param>
/// <param name="UnmatchedJudged">Answers the judges scored that people did not.</param>
public sealed record CalibrationResult(
    PersonaTask? Task,
    int Matched,
    int UnmatchedHuman,
    int UnmatchedJudged,
    double? Spearman,
    double? KendallTauB);

/// <param name="Tasks">The five tasks, in <see cref="PersonaTasks.All"/> order.</param>
public sealed record CalibrationReport(IReadOnlyList<CalibrationResult> Tasks, CalibrationResult Overall)
{
    public CalibrationResult this[PersonaTask task] =>
        Tasks.FirstOrDefault(t => t.Task == task)
        ?? throw new KeyNotFoundException($"The report has no entry for {task.DisplayName()}.");
}

/// <summary>
/// The paper validates its judges against people with Spearman and Kendall tau (PersonaGym §5, human
/// evaluation). Here per task and pooled, at answer level, against the mean of the judges.
/// </summary>
public static class Calibration
{
    /// <summary>
    /// Answers are matched on (persona, task, question), with persona and question compared after folding
    /// runs of white space (<see cref="Personas.Normalize"/>), case-sensitively.
    /// </summary>
    public static CalibrationReport Compare(
        IEnumerable<HumanScore> human,
        IEnumerable<(string Persona, PersonaTask Task, string Question, double JudgeMean)> judged)
    {
        ArgumentNullException.ThrowIfNull(human);
        ArgumentNullException.ThrowIfNull(judged);

        var humanMeans = human
            .Select(h =>
            {
                ArgumentNullException.ThrowIfNull(h, nameof(human));
                if (!double.IsFinite(h.Score)) throw new ArgumentException($"A human score is {h.Score}.", nameof(human));
                return (Key: Key(h.Persona, h.Task, h.Question), h.Score);
            })
            .GroupBy(h => h.Key)
            .ToDictionary(g => g.Key, g => g.Average(h => h.Score));

        var judgedMeans = new Dictionary<(string, PersonaTask, string), double>();
        foreach (var j in judged)
        {
            if (!double.IsFinite(j.JudgeMean)) throw new ArgumentException($"A judge mean is {j.JudgeMean}.", nameof(judged));
            // The judges' mean is already one figure per answer; a second one for the same answer is a caller bug.
            if (!judgedMeans.TryAdd(Key(j.Persona, j.Task, j.Question), j.JudgeMean))
                throw new ArgumentException(
                    $"The judged answer ({j.Task.DisplayName()}, '{j.Question}') for persona '{j.Persona}' appears twice.",
                    nameof(judged));
        }

        var tasks = PersonaTasks.All.Select(task => Result(task, humanMeans, judgedMeans)).ToList();
        return new CalibrationReport(tasks, Result(null, humanMeans, judgedMeans));
    }

    private static CalibrationResult Result(
        PersonaTask? task,
        Dictionary<(string Persona, PersonaTask Task, string Question), double> human,
        Dictionary<(string Persona, PersonaTask Task, string Question), double> judged)
    {
        var humanKeys = human.Keys.Where(k => task is null || k.Task == task).ToList();
        var judgedKeys = judged.Keys.Where(k => task is null || k.Task == task).ToList();
        var matched = humanKeys.Where(judged.ContainsKey)
            .OrderBy(k => k.Task).ThenBy(k => k.Persona, StringComparer.Ordinal).ThenBy(k => k.Question, StringComparer.Ordinal)
            .ToList();
        var x = matched.Select(k => human[k]).ToList();
        var y = matched.Select(k => judged[k]).ToList();
        return new CalibrationResult(task, matched.Count,
            humanKeys.Count - matched.Count, judgedKeys.Count - matched.Count,
            Agreement.Spearman(x, y), Agreement.KendallTauB(x, y));
    }

    private static (string, PersonaTask, string) Key(string persona, PersonaTask task, string question)
    {
        ArgumentNullException.ThrowIfNull(persona);
        ArgumentNullException.ThrowIfNull(question);
        return (Personas.Normalize(persona), task, Personas.Normalize(question));
    }
}
