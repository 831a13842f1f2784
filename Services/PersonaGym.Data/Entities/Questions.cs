using PersonaGym.Core;

namespace PersonaGym.Data;

/// <summary>
/// A named, versioned set of questions. A generated run writes its own set; an imported benchmark is a set;
/// a run on a stored set makes no environment or question LLM calls.
/// </summary>
public sealed class QuestionSet
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public required string Name { get; set; }
    public required string Version { get; set; }
    public QuestionSetSource Source { get; set; }

    /// <summary>A frozen set is never changed again, so results on it stay comparable.</summary>
    public bool Frozen { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public string? Description { get; set; }

    public List<QuestionSetPersona> Personas { get; set; } = [];
}

/// <summary>One persona's place in a question set: its environments and questions.</summary>
public sealed class QuestionSetPersona
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid QuestionSetId { get; set; }
    public QuestionSet QuestionSet { get; set; } = null!;
    public Guid PersonaId { get; set; }
    public Persona Persona { get; set; } = null!;

    /// <summary>The environments the questions are set in (paper: the relevant subset of the pool).</summary>
    public List<string> Environments { get; set; } = [];

    public QuestionSetPersonaStatus Status { get; set; } = QuestionSetPersonaStatus.Pending;
    public string? Error { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public List<QuestionBatch> Batches { get; set; } = [];
    public List<Question> Questions { get; set; } = [];
}

/// <summary>
/// The unit of work: one persona × one task × up to BatchSize questions. The paper writes the exemplars of
/// 5 questions in one call and grades 5 answers per judge call, hence batches of 5 by default.
/// </summary>
public sealed class QuestionBatch
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid QuestionSetPersonaId { get; set; }
    public QuestionSetPersona QuestionSetPersona { get; set; } = null!;
    public PersonaTask Task { get; set; }

    /// <summary>0-based position of the batch among the persona's batches for the task.</summary>
    public int BatchIndex { get; set; }

    public List<Question> Questions { get; set; } = [];

    /// <summary>
    /// One task's questions of a persona, in order, cut into batches of <paramref name="batchSize"/> (the last may be
    /// shorter); each batch carries its questions.
    /// </summary>
    public static List<QuestionBatch> Split(
        Guid questionSetPersonaId, PersonaTask task, IReadOnlyList<string> texts, int batchSize, QuestionSource source)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var batches = new List<QuestionBatch>();
        for (var ordinal = 0; ordinal < texts.Count; ordinal++)
        {
            if (ordinal % batchSize == 0)
            {
                batches.Add(new QuestionBatch { QuestionSetPersonaId = questionSetPersonaId, Task = task, BatchIndex = ordinal / batchSize });
            }

            var batch = batches[^1];
            batch.Questions.Add(new Question
            {
                QuestionSetPersonaId = questionSetPersonaId,
                BatchId = batch.Id,
                Task = task,
                Ordinal = ordinal,
                Text = texts[ordinal],
                Source = source,
            });
        }

        return batches;
    }
}

public sealed class Question
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid QuestionSetPersonaId { get; set; }
    public QuestionSetPersona QuestionSetPersona { get; set; } = null!;
    public Guid BatchId { get; set; }
    public QuestionBatch Batch { get; set; } = null!;
    public PersonaTask Task { get; set; }

    /// <summary>0-based position among the persona's questions for the task.</summary>
    public int Ordinal { get; set; }

    public required string Text { get; set; }
    public QuestionSource Source { get; set; }
}
