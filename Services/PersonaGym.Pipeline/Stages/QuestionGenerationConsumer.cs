using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using PersonaGym.Contracts;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Pipeline.Llm;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Pipeline.Stages;

/// <summary>
/// Stage 1–2 for one persona of a run: environment selection and 5×N questions (skipped when the run's question
/// set already holds them, as in benchmark mode or when another run of the same set wrote them), then the
/// batches are handed to every agent under test.
/// </summary>
public sealed class QuestionGenerationConsumer(StageServices stage, ILogger<QuestionGenerationConsumer> logger) : IConsumer<EvaluatePersona>
{
    public async Task Consume(ConsumeContext<EvaluatePersona> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        using var _ = LlmCallContext.ForRun(message.RunId);

        if (!await stage.Coordinator.IsActiveAsync(message.RunId, ct)) return;

        await using var db = await stage.Contexts.CreateDbContextAsync(ct);
        var runPersona = await db.RunPersonas.Include(p => p.Persona).Include(p => p.Run)
            .FirstOrDefaultAsync(p => p.Id == message.RunPersonaId && p.RunId == message.RunId, ct);
        if (runPersona is null)
        {
            logger.LogWarning("EvaluatePersona for unknown run persona {RunPersonaId} of run {RunId}: ignored", message.RunPersonaId, message.RunId);
            return;
        }

        if (runPersona.Status is RunPersonaStatus.Completed or RunPersonaStatus.Failed) return;

        var run = runPersona.Run;
        var setPersona = await db.QuestionSetPersonas.AsNoTracking()
            .FirstOrDefaultAsync(s => s.QuestionSetId == run.QuestionSetId && s.PersonaId == runPersona.PersonaId, ct);

        if (setPersona is null || setPersona.Status != QuestionSetPersonaStatus.Ready)
        {
            var set = await db.QuestionSets.AsNoTracking().FirstAsync(s => s.Id == run.QuestionSetId, ct);
            if (set.Source == QuestionSetSource.Imported || set.Frozen)
            {
                await stage.Coordinator.FailPersonaAsync(runPersona.Id, $"the question set {set.Name}@{set.Version} has no questions for this persona", ct);
                await stage.Coordinator.TryCompleteAsync(run.Id, ct);
                return;
            }

            if (await stage.Coordinator.BudgetExhaustedAsync(run.Id, ct)) return;

            await MarkAsync(db, runPersona, RunPersonaStatus.GeneratingQuestions, ct);
            try
            {
                setPersona = await GenerateAsync(run, runPersona, ct);
            }
            catch (Exception ex) when (StageFailures.IsPermanent(ex, context, stage.Options))
            {
                logger.LogWarning(ex, "Question generation failed for run persona {RunPersonaId}", runPersona.Id);
                await stage.Coordinator.FailPersonaAsync(runPersona.Id, StageFailures.Describe(ex), ct);
                await stage.Coordinator.TryCompleteAsync(run.Id, ct);
                return;
            }
        }

        var work = await EnsureBatchWorkAsync(run, runPersona.Id, setPersona.Id, ct);
        foreach (var item in work)
        {
            await RunCoordinator.PublishNextAsync(context, run.Id, runPersona.Id, item.BatchId, item.AgentId, item.Stage, ct);
        }

        if (work.Count == 0 || work.All(w => w.Stage is BatchStage.Done or BatchStage.Failed))
        {
            await stage.Coordinator.TryCompleteAsync(run.Id, ct);
        }
    }

    private async Task MarkAsync(PersonaGymDbContext db, RunPersona runPersona, RunPersonaStatus status, CancellationToken ct)
    {
        var now = stage.Time.GetUtcNow();
        await db.RunPersonas.Where(p => p.Id == runPersona.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.Status, status).SetProperty(p => p.UpdatedAt, now), ct);
    }

    /// <summary>The LLM calls of stages 1–2, then one transaction that stores environments, batches and questions.</summary>
    private async Task<QuestionSetPersona> GenerateAsync(Run run, RunPersona runPersona, CancellationToken ct)
    {
        var method = stage.Method;
        var writer = stage.Model(run.QuestionWriterSpec ?? throw new InvalidOperationException("The run names no question writer."));
        var persona = runPersona.Persona.Text;

        IReadOnlyList<string>? pool = null;
        if (run.EnvironmentPoolSetId is { } poolSetId)
        {
            await using var poolDb = await stage.Contexts.CreateDbContextAsync(ct);
            pool = await QuestionSets.QuestionSetCatalog.EnvironmentPoolAsync(poolDb, poolSetId, ct);
        }

        IReadOnlyList<string> environments = run.EnvironmentsMode == Run.AutomaticEnvironments
            ? (await method.SelectEnvironmentsAsync(writer, persona, pool, ct)).Value
            : run.EnvironmentsMode.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

        // The five tasks' questions are independent: ask for them at once (the model's own limits still apply).
        var perTask = await Task.WhenAll(PersonaTasks.All.Select(async task =>
            (Task: task, Questions: (await method.GenerateQuestionsAsync(writer, persona, task, environments, run.QuestionsPerTask, ct)).Value)));

        var now = stage.Time.GetUtcNow();
        var setPersona = new QuestionSetPersona
        {
            QuestionSetId = run.QuestionSetId,
            PersonaId = runPersona.PersonaId,
            Environments = environments.ToList(),
            Status = QuestionSetPersonaStatus.Ready,
            UpdatedAt = now,
        };
        foreach (var (task, questions) in perTask)
        {
            foreach (var batch in QuestionBatch.Split(setPersona.Id, task, questions, run.BatchSize, QuestionSource.Generated))
            {
                setPersona.Batches.Add(batch);
                setPersona.Questions.AddRange(batch.Questions);
            }
        }

        await using var db = await stage.Contexts.CreateDbContextAsync(ct);
        try
        {
            db.QuestionSetPersonas.Add(setPersona);
            await db.SaveChangesAsync(ct);
            return setPersona;
        }
        catch (DbUpdateException ex) when (DbExceptions.IsUniqueViolation(ex))
        {
            // Another delivery stored this persona's questions first: theirs are the questions.
            await using var fresh = await stage.Contexts.CreateDbContextAsync(ct);
            return await fresh.QuestionSetPersonas.AsNoTracking()
                .FirstAsync(s => s.QuestionSetId == run.QuestionSetId && s.PersonaId == runPersona.PersonaId, ct);
        }
    }

    private sealed record WorkItem(Guid BatchId, Guid AgentId, BatchStage Stage);

    /// <summary>One <see cref="BatchWork"/> per batch × agent, created once (unique index), returned with its stage.</summary>
    private async Task<List<WorkItem>> EnsureBatchWorkAsync(Run run, Guid runPersonaId, Guid setPersonaId, CancellationToken ct)
    {
        await using var db = await stage.Contexts.CreateDbContextAsync(ct);
        var batches = await db.QuestionBatches.AsNoTracking().Where(b => b.QuestionSetPersonaId == setPersonaId)
            .OrderBy(b => b.Task).ThenBy(b => b.BatchIndex).Select(b => b.Id).ToListAsync(ct);
        var agents = await db.RunModels.AsNoTracking().Where(m => m.RunId == run.Id && m.Role == RunModelRole.Agent)
            .OrderBy(m => m.Ordinal).Select(m => m.Id).ToListAsync(ct);
        var existing = await db.BatchWork.AsNoTracking().Where(w => w.RunPersonaId == runPersonaId)
            .Select(w => new WorkItem(w.BatchId, w.AgentId, w.Stage)).ToListAsync(ct);

        var now = stage.Time.GetUtcNow();
        var missing = (from batch in batches
                       from agent in agents
                       where !existing.Any(e => e.BatchId == batch && e.AgentId == agent)
                       select new BatchWork { RunId = run.Id, RunPersonaId = runPersonaId, BatchId = batch, AgentId = agent, LastProgressAt = now })
            .ToList();

        if (missing.Count > 0)
        {
            try
            {
                db.BatchWork.AddRange(missing);
                db.RunPersonas.Where(p => p.Id == runPersonaId).ToList()
                    .ForEach(p => { p.QuestionSetPersonaId = setPersonaId; p.Status = RunPersonaStatus.Answering; p.UpdatedAt = now; });
                await db.SaveChangesAsync(ct);
                existing.AddRange(missing.Select(m => new WorkItem(m.BatchId, m.AgentId, m.Stage)));
            }
            catch (DbUpdateException ex) when (DbExceptions.IsUniqueViolation(ex))
            {
                // A concurrent delivery created them: read what is there.
                await using var fresh = await stage.Contexts.CreateDbContextAsync(ct);
                return await fresh.BatchWork.AsNoTracking().Where(w => w.RunPersonaId == runPersonaId)
                    .Select(w => new WorkItem(w.BatchId, w.AgentId, w.Stage)).ToListAsync(ct);
            }
        }
        else
        {
            await db.RunPersonas.Where(p => p.Id == runPersonaId && p.Status != RunPersonaStatus.Completed)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.QuestionSetPersonaId, setPersonaId)
                    .SetProperty(p => p.Status, RunPersonaStatus.Answering).SetProperty(p => p.UpdatedAt, now), ct);
        }

        return existing;
    }
}
