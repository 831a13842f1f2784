namespace PersonaGym.Data;

/// <summary>One evaluation: some personas, one question set, one or more agents and judges.</summary>
public sealed class Run
{
    public const string AutomaticEnvironments = "auto";

    public Guid Id { get; set; } = Guid.CreateVersion7();
    public required string Name { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public RunStatus Status { get; set; } = RunStatus.Pending;

    /// <summary>The questions every agent of the run answers, so agents are compared on identical questions.</summary>
    public Guid QuestionSetId { get; set; }
    public QuestionSet QuestionSet { get; set; } = null!;

    /// <summary>Questions per persona and task (paper: 10).</summary>
    public int QuestionsPerTask { get; set; } = 10;

    /// <summary><see cref="AutomaticEnvironments"/> (an LLM selects them from the pool, as in the paper) or a comma-separated list of environment names.</summary>
    public string EnvironmentsMode { get; set; } = AutomaticEnvironments;

    /// <summary>
    /// The stored question set whose environments form the pool the question writer selects from (e.g. the paper's
    /// 150 settings of personagym-benchmark-v1); null for the built-in pool.
    /// </summary>
    public Guid? EnvironmentPoolSetId { get; set; }

    /// <summary>Model spec that selects environments and writes questions; null when the run uses a stored question set.</summary>
    public string? QuestionWriterSpec { get; set; }

    /// <summary>Model spec that writes the score exemplars the judges compare against.</summary>
    public required string ExemplarWriterSpec { get; set; }

    /// <summary>Questions per batch (paper: 5, graded in one judge call).</summary>
    public int BatchSize { get; set; } = 5;

    public long? MaxCalls { get; set; }
    public long? MaxTokens { get; set; }

    /// <summary>True when any model of the run is offline: its numbers are not an evaluation, and every report says so.</summary>
    public bool UsesOfflineModels { get; set; }

    /// <summary>The remaining options as submitted, kept for reproducibility.</summary>
    public string OptionsJson { get; set; } = "{}";

    public string? Error { get; set; }

    /// <summary>
    /// Why the running run cannot progress right now (no consumer on a stage's queue, the broker unreachable, no
    /// progress for too long), written by the coordinating process's stall detector and cleared when the cause goes
    /// away; null while the run progresses.
    /// </summary>
    public string? Stall { get; set; }

    /// <summary>Since when <see cref="Stall"/> holds.</summary>
    public DateTimeOffset? StalledSince { get; set; }

    public List<RunModel> Models { get; set; } = [];
    public List<RunPersona> Personas { get; set; } = [];
}

/// <summary>A model taking part in a run, as an agent under test or as a judge.</summary>
public sealed class RunModel
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;
    public RunModelRole Role { get; set; }

    /// <summary>The model spec, e.g. <c>openai:gpt-4o-mini</c>; never holds a key.</summary>
    public required string Spec { get; set; }

    /// <summary>The order in which the model was named (report columns follow it).</summary>
    public int Ordinal { get; set; }
}
