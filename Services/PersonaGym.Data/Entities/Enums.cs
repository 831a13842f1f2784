namespace PersonaGym.Data;

// Every enum is stored by name (see PersonaGymDbContext.ConfigureConventions), so reordering members never
// changes the meaning of stored rows and the tables stay readable in psql / sqlite3.

public enum RunStatus
{
    Pending,
    Running,
    Completed,
    /// <summary>Finished, but some batches or personas failed; their reasons are stored with them.</summary>
    CompletedWithFailures,
    Failed,
    /// <summary>Stopped because the run's call or token budget was reached.</summary>
    Stopped,
    Cancelled,
}

public enum RunModelRole
{
    /// <summary>A model under test: it answers as the persona.</summary>
    Agent,
    /// <summary>A judge model: it grades the agents' answers.</summary>
    Judge,
}

public enum QuestionSetSource
{
    /// <summary>Written by an LLM for a run (environments, then questions per task).</summary>
    Generated,
    /// <summary>Loaded from a stored benchmark (e.g. the original PersonaGym questions).</summary>
    Imported,
}

public enum QuestionSetPersonaStatus
{
    Pending,
    Ready,
    Failed,
}

public enum QuestionSource
{
    Generated,
    Imported,
}

public enum RunPersonaStatus
{
    Pending,
    GeneratingQuestions,
    Answering,
    Completed,
    Failed,
}

/// <summary>Where one agent's work on one batch stands.</summary>
public enum BatchStage
{
    Answering,
    Judging,
    Done,
    Failed,
}

/// <summary>The pipeline stage an LLM call served, for usage accounting per stage.</summary>
public enum LlmCallStage
{
    EnvironmentSelection,
    QuestionGeneration,
    Answering,
    Exemplars,
    Judging,
    Other,
}

public static class LlmCallStages
{
    /// <summary>The stage's name as reports, usage and cost lines give it (the method's stage names).</summary>
    public static string Name(LlmCallStage stage) => stage switch
    {
        LlmCallStage.EnvironmentSelection => PersonaGym.Core.MethodStages.Environments,
        LlmCallStage.QuestionGeneration => PersonaGym.Core.MethodStages.Questions,
        LlmCallStage.Answering => PersonaGym.Core.MethodStages.Answer,
        LlmCallStage.Exemplars => PersonaGym.Core.MethodStages.Exemplars,
        LlmCallStage.Judging => PersonaGym.Core.MethodStages.Judge,
        _ => "other",
    };
}
