using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using PersonaGym.Contracts;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// The run-level decisions every stage shares: is the run still going, has it exhausted its budget, is it
/// finished, and what unfinished work must be published (again) to move it on. Everything is derived from the
/// stored rows, so any process may ask, any number of times.
/// </summary>
public sealed class RunCoordinator(
    IDbContextFactory<PersonaGymDbContext> contexts,
    TimeProvider time,
    RunFinishedSignal finished,
    ILogger<RunCoordinator> logger)
{
    private static readonly RunStatus[] Active = [RunStatus.Pending, RunStatus.Running];

    /// <summary>Whether work for the run should still be done (not finished, stopped, failed or cancelled).</summary>
    public async Task<bool> IsActiveAsync(Guid runId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var status = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => (RunStatus?)r.Status)
            .FirstOrDefaultAsync(cancellationToken);
        return status is { } s && IsActive(s);
    }

    /// <summary>Tells a follower in this process that the run is no longer active (see <see cref="RunFinishedSignal"/>).</summary>
    public void NoteFinished(Guid runId) => finished.Finished(runId);

    /// <summary>Whether a run in this status should still get work done.</summary>
    public static bool IsActive(RunStatus status) => Active.Contains(status);

    /// <summary>
    /// One agent's batch with its run's status and budget, read fresh in one query (a stage's first look at a message;
    /// another process may have cancelled, stopped or resumed the run); null when the batch has no such work item.
    /// </summary>
    public static Task<BatchState?> BatchStateAsync(PersonaGymDbContext db, Guid runId, Guid batchId, Guid agentId, CancellationToken cancellationToken) =>
        FindBatchState.For(db)(db, runId, batchId, agentId, cancellationToken);

    /// <summary>The ids of the questions of a batch that the agent has answered (what another delivery may have stored).</summary>
    public static async Task<List<Guid>> AnsweredAsync(PersonaGymDbContext db, Guid batchId, Guid agentId, CancellationToken cancellationToken)
    {
        var answered = new List<Guid>();
        await foreach (var id in FindAnswered.For(db)(db, batchId, agentId).WithCancellation(cancellationToken)) answered.Add(id);
        return answered;
    }

    // The look-ups every stage message makes, compiled once instead of being translated from their expression each time.
    private static readonly CompiledQuery<Func<PersonaGymDbContext, Guid, Guid, Guid, CancellationToken, Task<BatchState?>>> FindBatchState = new(() =>
        EF.CompileAsyncQuery((PersonaGymDbContext db, Guid runId, Guid batchId, Guid agentId, CancellationToken _) => db.BatchWork.AsNoTracking()
            .Where(w => w.BatchId == batchId && w.AgentId == agentId && w.RunId == runId)
            .Select(w => new BatchState(w.Id, w.Stage, w.Run.Status, w.Run.MaxCalls != null || w.Run.MaxTokens != null))
            .FirstOrDefault()));

    private static readonly CompiledQuery<Func<PersonaGymDbContext, Guid, Guid, IAsyncEnumerable<Guid>>> FindAnswered = new(() =>
        EF.CompileAsyncQuery((PersonaGymDbContext db, Guid batchId, Guid agentId) => db.Answers.AsNoTracking()
            .Where(a => a.AgentId == agentId && a.Question.BatchId == batchId)
            .Select(a => a.QuestionId)));

    /// <summary>
    /// Checks the run's call and token budgets against the calls recorded so far (cache hits cost nothing and do
    /// not count). When one is reached the run is marked <see cref="RunStatus.Stopped"/>: no new work is started,
    /// and <c>resume</c> with a larger budget picks up exactly where it stopped.
    /// </summary>
    public async Task<bool> BudgetExhaustedAsync(Guid runId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var budget = await db.Runs.AsNoTracking().Where(r => r.Id == runId)
            .Select(r => new { r.MaxCalls, r.MaxTokens }).FirstOrDefaultAsync(cancellationToken);
        if (budget is null || (budget.MaxCalls is null && budget.MaxTokens is null)) return false;

        var paid = db.LlmCalls.AsNoTracking().Where(c => c.RunId == runId && !c.CacheHit);
        string? reason = null;
        if (budget.MaxCalls is { } maxCalls)
        {
            var calls = await paid.LongCountAsync(cancellationToken);
            if (calls >= maxCalls) reason = $"call budget reached ({calls} of {maxCalls} LLM calls)";
        }

        if (reason is null && budget.MaxTokens is { } maxTokens)
        {
            var tokens = await paid.SumAsync(c => (long)((c.InputTokens ?? 0) + (c.OutputTokens ?? 0)), cancellationToken);
            if (tokens >= maxTokens) reason = $"token budget reached ({tokens} of {maxTokens} tokens)";
        }

        if (reason is null) return false;

        // Stop only under the budget just read: a resume may have raised it meanwhile, and then this work goes on.
        var now = time.GetUtcNow();
        var changed = await db.Runs.Where(r => r.Id == runId && (r.Status == RunStatus.Running || r.Status == RunStatus.Pending)
                && r.MaxCalls == budget.MaxCalls && r.MaxTokens == budget.MaxTokens)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Stopped)
                .SetProperty(r => r.Error, reason)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken);
        if (changed > 0)
        {
            logger.LogWarning("Run {RunId} stopped: {Reason}", runId, reason);
            finished.Finished(runId);
            return true;
        }

        // Already stopped (or finished), or resumed with a new budget: go on only in the last case.
        return !await IsActiveAsync(runId, cancellationToken) || await BudgetExhaustedAsync(runId, cancellationToken);
    }

    /// <summary>
    /// Marks the run finished when no persona is still getting questions and no batch is still being answered
    /// or judged; personas whose batches are all finished are marked completed on the way. Returns the final
    /// status when this call finished the run.
    /// </summary>
    public async Task<RunStatus?> TryCompleteAsync(Guid runId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();

        // Personas whose every batch is finished are complete.
        var open = new[] { BatchStage.Answering, BatchStage.Judging };
        await db.RunPersonas
            .Where(p => p.RunId == runId && p.Status == RunPersonaStatus.Answering)
            .Where(p => !db.BatchWork.Any(w => w.RunPersonaId == p.Id && open.Contains(w.Stage)))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.Status, RunPersonaStatus.Completed).SetProperty(p => p.UpdatedAt, now), cancellationToken);

        var pendingPersonas = await db.RunPersonas.AnyAsync(
            p => p.RunId == runId && (p.Status == RunPersonaStatus.Pending || p.Status == RunPersonaStatus.GeneratingQuestions || p.Status == RunPersonaStatus.Answering),
            cancellationToken);
        if (pendingPersonas) return null;

        var failures = await db.RunPersonas.AnyAsync(p => p.RunId == runId && p.Status == RunPersonaStatus.Failed, cancellationToken)
            || await db.BatchWork.AnyAsync(w => w.RunId == runId && w.Stage == BatchStage.Failed, cancellationToken)
            || await db.Judgements.AnyAsync(j => j.RunId == runId && j.Score == null, cancellationToken);
        var status = failures ? RunStatus.CompletedWithFailures : RunStatus.Completed;

        var changed = await db.Runs.Where(r => r.Id == runId && (r.Status == RunStatus.Running || r.Status == RunStatus.Pending))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, status)
                .SetProperty(r => r.Stall, (string?)null)
                .SetProperty(r => r.StalledSince, (DateTimeOffset?)null)
                .SetProperty(r => r.CompletedAt, now)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken);
        if (changed == 0) return null;
        logger.LogInformation("Run {RunId} finished: {Status}", runId, status);
        finished.Finished(runId);
        return status;
    }

    /// <summary>
    /// Whether the persona still has a batch being answered or judged. Then neither it nor its run can be finished yet,
    /// and the message of its last batch to finish makes the full check (<see cref="TryCompleteAsync"/>): every batch is
    /// marked done before its <c>BatchJudged</c> is published, so that message finds no batch of the persona open.
    /// </summary>
    public async Task<bool> HasOpenBatchesAsync(Guid runPersonaId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await HasOpenBatches.For(db)(db, runPersonaId, cancellationToken);
    }

    private static readonly CompiledQuery<Func<PersonaGymDbContext, Guid, CancellationToken, Task<bool>>> HasOpenBatches = new(() =>
        EF.CompileAsyncQuery((PersonaGymDbContext db, Guid runPersonaId, CancellationToken _) =>
            db.BatchWork.Any(w => w.RunPersonaId == runPersonaId && (w.Stage == BatchStage.Answering || w.Stage == BatchStage.Judging))));

    /// <summary>Marks one agent's batch failed with its reason; the run shows it as a failed item, never a hang.</summary>
    public async Task FailBatchAsync(Guid batchId, Guid agentId, string reason, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        await db.BatchWork.Where(w => w.BatchId == batchId && w.AgentId == agentId && w.Stage != BatchStage.Done)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Stage, BatchStage.Failed)
                .SetProperty(w => w.Error, Truncate(reason))
                .SetProperty(w => w.LastProgressAt, now), CancellationToken.None);
    }

    /// <summary>Marks a persona's question stage failed with its reason.</summary>
    public async Task FailPersonaAsync(Guid runPersonaId, string reason, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        await db.RunPersonas.Where(p => p.Id == runPersonaId && p.Status != RunPersonaStatus.Completed)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.Status, RunPersonaStatus.Failed)
                .SetProperty(p => p.Error, Truncate(reason))
                .SetProperty(p => p.UpdatedAt, now), CancellationToken.None);
    }

    /// <summary>
    /// Publishes the next message for every unfinished item of the run: all of them (resume), or only those that
    /// made no progress since <paramref name="stalledBefore"/> (the sweeper, which counts the sweep on each item and
    /// restarts its clock). Consumers are idempotent, so a message for work that is in fact under way costs nothing
    /// but a lookup.
    /// </summary>
    public async Task<int> RepublishAsync(Guid runId, IPublishEndpoint publish, DateTimeOffset? stalledBefore, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();

        var personas = db.RunPersonas.Where(p => p.RunId == runId &&
            (p.Status == RunPersonaStatus.Pending || p.Status == RunPersonaStatus.GeneratingQuestions));
        if (stalledBefore is { } before) personas = personas.Where(p => p.UpdatedAt < before);
        var personaIds = await personas.Select(p => p.Id).ToListAsync(cancellationToken);
        await db.RunPersonas.Where(p => personaIds.Contains(p.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.UpdatedAt, now), cancellationToken);

        var work = db.BatchWork.Where(w => w.RunId == runId &&
            (w.Stage == BatchStage.Answering || w.Stage == BatchStage.Judging));
        if (stalledBefore is { } stalled) work = work.Where(w => w.LastProgressAt < stalled);
        var items = await work.Select(w => new { w.Id, w.RunPersonaId, w.BatchId, w.AgentId, w.Stage }).ToListAsync(cancellationToken);
        var ids = items.Select(i => i.Id).ToList();
        if (stalledBefore is null)
        {
            await db.BatchWork.Where(w => ids.Contains(w.Id)).ExecuteUpdateAsync(s => s
                .SetProperty(w => w.Attempts, 0).SetProperty(w => w.LastProgressAt, now), cancellationToken);
        }
        else
        {
            await db.BatchWork.Where(w => ids.Contains(w.Id)).ExecuteUpdateAsync(s => s
                .SetProperty(w => w.Attempts, w => w.Attempts + 1).SetProperty(w => w.LastProgressAt, now), cancellationToken);
        }

        foreach (var personaId in personaIds)
        {
            await publish.Publish(new EvaluatePersona { RunId = runId, RunPersonaId = personaId }, cancellationToken);
        }

        foreach (var item in items)
        {
            await PublishNextAsync(publish, runId, item.RunPersonaId, item.BatchId, item.AgentId, item.Stage, cancellationToken);
        }

        return personaIds.Count + items.Count;
    }

    /// <summary>The message that moves one agent's batch on from its stage: answering, or judging.</summary>
    public static Task PublishNextAsync(IPublishEndpoint publish, Guid runId, Guid runPersonaId, Guid batchId, Guid agentId, BatchStage stage, CancellationToken cancellationToken) => stage switch
    {
        BatchStage.Answering => publish.Publish(new AnswerQuestions { RunId = runId, RunPersonaId = runPersonaId, BatchId = batchId, AgentId = agentId }, cancellationToken),
        BatchStage.Judging => publish.Publish(new JudgeAnswers { RunId = runId, RunPersonaId = runPersonaId, BatchId = batchId, AgentId = agentId }, cancellationToken),
        _ => Task.CompletedTask,
    };

    public static string Truncate(string text) => text.Length > 4000 ? text[..4000] : text;
}

/// <summary>An agent's batch as a stage first sees it: the work item, its stage, the run's status and whether the run has a budget.</summary>
public sealed record BatchState(Guid WorkId, BatchStage Stage, RunStatus RunStatus, bool HasBudget)
{
    public bool RunIsActive => RunCoordinator.IsActive(RunStatus);
}
