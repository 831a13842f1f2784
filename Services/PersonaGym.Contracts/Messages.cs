namespace PersonaGym.Contracts;

// Messages carry ids only (claim check): every text lives in the database.
// MassTransit routes by namespace + type name, so these names and this namespace are part of the wire format.

/// <summary>Start (or resume) the question stage for one persona of a run: environments, then 5×N questions.</summary>
public sealed record EvaluatePersona
{
    public required Guid RunId { get; init; }
    public required Guid RunPersonaId { get; init; }
}

/// <summary>The model under test answers one batch (one persona × task × up to 5 questions).</summary>
public sealed record AnswerQuestions
{
    public required Guid RunId { get; init; }
    public required Guid RunPersonaId { get; init; }
    public required Guid BatchId { get; init; }
    public required Guid AgentId { get; init; }
}

/// <summary>Write the batch's score exemplars (once per batch) and have every judge grade the agent's answers.</summary>
public sealed record JudgeAnswers
{
    public required Guid RunId { get; init; }
    public required Guid RunPersonaId { get; init; }
    public required Guid BatchId { get; init; }
    public required Guid AgentId { get; init; }
}

/// <summary>Every judge has graded one agent's answers to one batch.</summary>
public sealed record BatchJudged
{
    public required Guid RunId { get; init; }
    public required Guid RunPersonaId { get; init; }
    public required Guid BatchId { get; init; }
    public required Guid AgentId { get; init; }
}

/// <summary>A run has no outstanding work left.</summary>
public sealed record RunCompleted
{
    public required Guid RunId { get; init; }
    public required string Status { get; init; }
}

/// <summary>Fixed endpoint (queue) names: the Azure scale rule names the judge queue, so a test pins them.</summary>
public static class Endpoints
{
    public const string QuestionGenerator = "question-generator";
    public const string AgentRunner = "agent-runner";
    public const string Judge = "judge";
    public const string Progress = "run-progress";
}
