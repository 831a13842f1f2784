namespace PersonaGym.Data;

/// <summary>One persona of a run.</summary>
public sealed class RunPersona
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;
    public Guid PersonaId { get; set; }
    public Persona Persona { get; set; } = null!;

    /// <summary>The persona's questions in the run's set; null until the set has a row for the persona.</summary>
    public Guid? QuestionSetPersonaId { get; set; }
    public QuestionSetPersona? QuestionSetPersona { get; set; }

    public RunPersonaStatus Status { get; set; } = RunPersonaStatus.Pending;
    public string? Error { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// One agent's progress on one batch. Progress reports, completion detection and the sweeper (which
/// re-publishes batches that made no progress for a while) all read this table.
/// </summary>
public sealed class BatchWork
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;
    public Guid RunPersonaId { get; set; }
    public RunPersona RunPersona { get; set; } = null!;
    public Guid BatchId { get; set; }
    public QuestionBatch Batch { get; set; } = null!;

    /// <summary>The agent (a <see cref="RunModel"/> with role Agent).</summary>
    public Guid AgentId { get; set; }
    public RunModel Agent { get; set; } = null!;

    public BatchStage Stage { get; set; } = BatchStage.Answering;
    public int Attempts { get; set; }
    public DateTimeOffset LastProgressAt { get; set; }
    public string? Error { get; set; }

    /// <summary>
    /// The delivery (its message id) at work on this batch's current stage, so that a second message for the same work
    /// (a re-publication after an outage, a sweep) does not pay for the same model calls while the first is making
    /// them; null when no delivery is. A broker's redelivery of the holder's own message has the same id and takes over.
    /// </summary>
    public Guid? ClaimedBy { get; set; }

    /// <summary>When <see cref="ClaimedBy"/> took or last renewed its claim; a claim older than its lease is a dead holder's.</summary>
    public DateTimeOffset? ClaimedAt { get; set; }
}

/// <summary>An agent's answer to one question, stored as soon as it arrives so a crash never loses paid-for work.</summary>
public sealed class Answer
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;
    public Guid QuestionId { get; set; }
    public Question Question { get; set; } = null!;
    public Guid AgentId { get; set; }
    public RunModel Agent { get; set; } = null!;
    public required string Text { get; set; }
    public int? InputTokens { get; set; }
    public int? OutputTokens { get; set; }
    public long LatencyMs { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// An example answer for one score level (1–5) of a question's rubric. Keyed by writer and rubric version,
/// so runs with the same exemplar writer reuse them instead of paying again.
/// </summary>
public sealed class Exemplar
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid QuestionId { get; set; }
    public Question Question { get; set; } = null!;
    public required string WriterSpec { get; set; }
    public required string RubricVersion { get; set; }
    public int Score { get; set; }
    public required string Text { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>One judge's verdict on one answer.</summary>
public sealed class Judgement
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;
    public Guid AnswerId { get; set; }
    public Answer Answer { get; set; } = null!;

    /// <summary>The judge (a <see cref="RunModel"/> with role Judge).</summary>
    public Guid JudgeId { get; set; }
    public RunModel Judge { get; set; } = null!;

    /// <summary>The answer's position in the batch the judge graded in one call.</summary>
    public int ItemIndex { get; set; }

    /// <summary>1–5, or null when no score could be parsed: such a judgement counts as a parse failure and is excluded from means (paper's rule, without the reference code's zero).</summary>
    public int? Score { get; set; }

    /// <summary>Why the score could not be parsed, when it could not.</summary>
    public string? ParseFailure { get; set; }

    public string? Reasoning { get; set; }
    public required string RawText { get; set; }
    public required string RubricVersion { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A record of one LLM call (cache hits included), for usage accounting and budgets.</summary>
public sealed class LlmCall
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid? RunId { get; set; }
    public LlmCallStage Stage { get; set; }

    /// <summary>The model spec called.</summary>
    public required string Model { get; set; }

    public int? InputTokens { get; set; }
    public int? OutputTokens { get; set; }
    public long LatencyMs { get; set; }
    public bool CacheHit { get; set; }
    public bool Succeeded { get; set; }
    public string? Error { get; set; }
    public DateTimeOffset At { get; set; }
}

/// <summary>A row of the LLM response cache (<see cref="EfDistributedCache"/>).</summary>
public sealed class CacheEntry
{
    /// <summary>The cache key (callers use hashes); keys too long for an index are stored as their SHA-256.</summary>
    public required string Key { get; set; }
    public required byte[] Value { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the entry stops being served; null = never.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>The absolute limit a sliding expiration may not pass.</summary>
    public DateTimeOffset? AbsoluteExpiresAt { get; set; }

    public TimeSpan? SlidingExpiration { get; set; }
}

/// <summary>
/// Who is writing a batch's exemplars (for one writer and rubric version). Several models under test reach a batch's
/// judging at once, in one process or many; the claim lets exactly one of them pay for the exemplar call while the
/// others wait for its result. A claim older than the claim timeout is taken over (its writer died).
/// </summary>
public sealed class ExemplarClaim
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid BatchId { get; set; }
    public QuestionBatch Batch { get; set; } = null!;
    public required string WriterSpec { get; set; }
    public required string RubricVersion { get; set; }
    public DateTimeOffset ClaimedAt { get; set; }
}
