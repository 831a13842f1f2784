using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// The parts of a run that never change once it is submitted, read from the database once per process instead of once
/// per message: its models (specs, roles, order) and exemplar writer, its personas' texts, and each batch's task and
/// questions. Nothing that another process may change (a run's status, budget, the work's stage, answers, verdicts) is
/// kept here: those are read fresh for every message, so a cancel or a resume with a new budget made elsewhere is seen
/// as before.
/// </summary>
/// <remarks>
/// Why these are safe to keep: a run's models and exemplar writer are written with the run and never updated; a persona's
/// text is unique by its hash and never edited; a batch is stored together with its questions and neither is edited
/// afterwards. A look-up that finds nothing is not kept. Each kind of fact holds at most <see cref="Capacity"/> entries
/// and starts over when full, so a worker that runs for days does not grow.
/// </remarks>
public sealed class RunFacts(IDbContextFactory<PersonaGymDbContext> contexts)
{
    /// <summary>How many runs, personas or batches are kept at once (each kind).</summary>
    public const int Capacity = 4096;

    private readonly ConcurrentDictionary<Guid, RunModels> _models = new();
    private readonly ConcurrentDictionary<Guid, string> _personas = new();
    private readonly ConcurrentDictionary<Guid, BatchQuestions> _batches = new();

    /// <summary>The run's models and exemplar writer; throws <see cref="InvalidOperationException"/> for an unknown run.</summary>
    public async ValueTask<RunModels> ModelsAsync(Guid runId, CancellationToken cancellationToken)
    {
        if (_models.TryGetValue(runId, out var known)) return known;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var writer = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => r.ExemplarWriterSpec).FirstAsync(cancellationToken);
        var models = await db.RunModels.AsNoTracking().Where(m => m.RunId == runId).OrderBy(m => m.Ordinal)
            .Select(m => new RunModelFact(m.Id, m.Role, m.Spec, m.Ordinal)).ToListAsync(cancellationToken);
        return Keep(_models, runId, new RunModels(writer, models));
    }

    /// <summary>The text of a run's persona; throws <see cref="InvalidOperationException"/> for an unknown one.</summary>
    public async ValueTask<string> PersonaTextAsync(Guid runPersonaId, CancellationToken cancellationToken)
    {
        if (_personas.TryGetValue(runPersonaId, out var known)) return known;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var text = await db.RunPersonas.AsNoTracking().Where(p => p.Id == runPersonaId).Select(p => p.Persona.Text).FirstAsync(cancellationToken);
        return Keep(_personas, runPersonaId, text);
    }

    /// <summary>A batch's task and its questions in order; throws <see cref="InvalidOperationException"/> for an unknown batch.</summary>
    public async ValueTask<BatchQuestions> BatchAsync(Guid batchId, CancellationToken cancellationToken)
    {
        if (_batches.TryGetValue(batchId, out var known)) return known;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var task = await db.QuestionBatches.AsNoTracking().Where(b => b.Id == batchId).Select(b => b.Task).FirstAsync(cancellationToken);
        var questions = await db.Questions.AsNoTracking().Where(q => q.BatchId == batchId).OrderBy(q => q.Ordinal)
            .Select(q => new BatchQuestion(q.Id, q.Text)).ToListAsync(cancellationToken);
        return Keep(_batches, batchId, new BatchQuestions(task, questions));
    }

    private static T Keep<T>(ConcurrentDictionary<Guid, T> facts, Guid id, T value)
    {
        if (facts.Count >= Capacity) facts.Clear();
        return facts.GetOrAdd(id, value);
    }
}

/// <summary>A run's models in the order they were named, and its exemplar writer.</summary>
public sealed record RunModels(string ExemplarWriterSpec, IReadOnlyList<RunModelFact> All)
{
    public IReadOnlyList<RunModelFact> Judges { get; } = All.Where(m => m.Role == RunModelRole.Judge).ToList();

    /// <summary>The model with this id; throws <see cref="InvalidOperationException"/> when the run has none.</summary>
    public RunModelFact Get(Guid id) => All.FirstOrDefault(m => m.Id == id)
        ?? throw new InvalidOperationException($"the run has no model {id}");
}

public sealed record RunModelFact(Guid Id, RunModelRole Role, string Spec, int Ordinal);

/// <summary>A batch's task and its questions in order.</summary>
public sealed record BatchQuestions(PersonaTask Task, IReadOnlyList<BatchQuestion> Questions);

public sealed record BatchQuestion(Guid Id, string Text);
