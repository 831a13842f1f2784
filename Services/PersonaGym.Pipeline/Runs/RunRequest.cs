using PersonaGym.Core;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// Everything a user can ask of one evaluation run. The CLI and the Api both build one of these, so both
/// validate the same way (<see cref="RunRequestValidator"/>).
/// </summary>
public sealed record RunRequest
{
    public string? Name { get; init; }

    /// <summary>Persona descriptions. May be empty when <see cref="QuestionSet"/> names a stored set: then its personas are used.</summary>
    public IReadOnlyList<string> Personas { get; init; } = [];

    /// <summary>Models under test (model specs). Several are compared on the same questions.</summary>
    public IReadOnlyList<string> Agents { get; init; } = [];

    /// <summary>Judge models (model specs); their scores are averaged (paper: two judges).</summary>
    public IReadOnlyList<string> Judges { get; init; } = [];

    /// <summary>The model that selects environments and writes questions.</summary>
    public string? QuestionWriter { get; init; }

    /// <summary>The model that writes the score exemplars.</summary>
    public string? ExemplarWriter { get; init; }

    /// <summary>Questions per task (paper: 10).</summary>
    public int QuestionsPerTask { get; init; } = 10;

    /// <summary>"auto" (an LLM picks from the pool, as in the paper) or explicit environment names.</summary>
    public IReadOnlyList<string> Environments { get; init; } = ["auto"];

    /// <summary>
    /// For runs that generate questions: a stored question set ("name" or "name@version") whose environments are the
    /// pool to select from, e.g. personagym-benchmark-v1 for the paper's 150 settings. Null: the built-in pool.
    /// </summary>
    public string? EnvironmentPool { get; init; }

    /// <summary>A stored question set ("name" or "name@version"): benchmark mode, no environment or question calls.</summary>
    public string? QuestionSet { get; init; }

    /// <summary>With a question set and no personas: take only its first N personas.</summary>
    public int? PersonaLimit { get; init; }

    /// <summary>Questions per judge call and exemplar call (paper: 5).</summary>
    public int BatchSize { get; init; } = 5;

    /// <summary>Stop scheduling new work once this many LLM calls (cache hits excluded) were made.</summary>
    public long? MaxCalls { get; init; }

    /// <summary>Stop scheduling new work once this many tokens were used.</summary>
    public long? MaxTokens { get; init; }

    public bool AutoEnvironments => Environments.Count == 0 ||
        (Environments.Count == 1 && Environments[0].Equals("auto", StringComparison.OrdinalIgnoreCase));
}

/// <summary>Defaults a host fills in when a request leaves a model role empty.</summary>
public sealed class ModelDefaults
{
    public const string Section = "PersonaGym:Models";

    public string QuestionWriter { get; set; } = "offline:question-writer";
    public string ExemplarWriter { get; set; } = "offline:exemplar-writer";
    // Empty here and filled after binding: the configuration binder appends to a list's initial items.
    public List<string> Judges { get; set; } = [];
    public List<string> Agents { get; set; } = [];

    public static IReadOnlyList<string> DefaultJudges { get; } = ["offline:judge-a", "offline:judge-b"];
    public static IReadOnlyList<string> DefaultAgents { get; } = ["offline:agent"];

    /// <summary>A comma-separated list as one configuration value, or null when there is none.</summary>
    public static List<string>? SplitList(string? value) =>
        string.IsNullOrWhiteSpace(value) ? null : value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
}
