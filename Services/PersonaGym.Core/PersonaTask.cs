namespace PersonaGym.Core;

/// <summary>The five PersonaGym evaluation tasks (paper §3).</summary>
public enum PersonaTask
{
    ExpectedAction,
    ActionJustification,
    LinguisticHabits,
    PersonaConsistency,
    ToxicityControl,
}

public static class PersonaTasks
{
    /// <summary>All tasks, in the order the paper lists them.</summary>
    public static IReadOnlyList<PersonaTask> All { get; } =
    [
        PersonaTask.ExpectedAction,
        PersonaTask.ActionJustification,
        PersonaTask.LinguisticHabits,
        PersonaTask.PersonaConsistency,
        PersonaTask.ToxicityControl,
    ];

    /// <summary>The name the paper prints ("Expected Action", …, "Toxicity Control").</summary>
    public static string DisplayName(this PersonaTask task) => task switch
    {
        PersonaTask.ExpectedAction => "Expected Action",
        PersonaTask.ActionJustification => "Action Justification",
        PersonaTask.LinguisticHabits => "Linguistic Habits",
        PersonaTask.PersonaConsistency => "Persona Consistency",
        PersonaTask.ToxicityControl => "Toxicity Control",
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, null),
    };

    /// <summary>The key the original benchmark's question files use (there, Toxicity Control is "Toxicity").</summary>
    public static string BenchmarkKey(this PersonaTask task) =>
        task == PersonaTask.ToxicityControl ? "Toxicity" : task.DisplayName();

    /// <summary>A stable kebab-case id for files, URLs and configuration ("expected-action").</summary>
    public static string Slug(this PersonaTask task) => task.DisplayName().ToLowerInvariant().Replace(' ', '-');

    /// <summary>
    /// Accepts the display name, the benchmark key, the slug or the enum name, ignoring case, spaces, '-' and '_'.
    /// </summary>
    public static bool TryParse(string? text, out PersonaTask task)
    {
        task = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var key = Normalize(text);
        if (key == "toxicity") { task = PersonaTask.ToxicityControl; return true; }
        foreach (var candidate in All)
        {
            if (Normalize(candidate.DisplayName()) == key) { task = candidate; return true; }
        }
        return false;
    }

    public static PersonaTask Parse(string text) => TryParse(text, out var task)
        ? task
        : throw new FormatException(
            $"Unknown task '{text}'. Valid tasks: {string.Join(", ", All.Select(t => t.DisplayName()))} (or 'Toxicity').");

    private static string Normalize(string text) =>
        new(text.Where(char.IsLetter).Select(char.ToLowerInvariant).ToArray());
}
