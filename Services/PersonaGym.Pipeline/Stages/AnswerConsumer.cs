using System.Diagnostics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using PersonaGym.Contracts;
using PersonaGym.Data;
using PersonaGym.Pipeline.Llm;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Pipeline.Stages;

/// <summary>
/// Stage 3 for one batch and one agent: the model under test answers each question in character. Each answer is
/// stored the moment it arrives, so a crash loses nothing that was paid for; a redelivery answers only what is missing.
/// </summary>
public sealed class AnswerConsumer(StageServices stage, ILogger<AnswerConsumer> logger) : IConsumer<AnswerQuestions>
{
    public async Task Consume(ConsumeContext<AnswerQuestions> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        using var _ = LlmCallContext.ForRun(message.RunId);

        await using var db = await stage.Contexts.CreateDbContextAsync(ct);
        var work = await RunCoordinator.BatchStateAsync(db, message.RunId, message.BatchId, message.AgentId, ct);
        if (work is null)
        {
            if (await stage.Coordinator.IsActiveAsync(message.RunId, ct))
                logger.LogWarning("AnswerQuestions for unknown batch {BatchId} / agent {AgentId}: ignored", message.BatchId, message.AgentId);
            return;
        }

        if (!work.RunIsActive) return;
        switch (work.Stage)
        {
            case BatchStage.Done or BatchStage.Failed:
                return;
            case BatchStage.Judging:
                // Answers are stored already (a redelivery after the save): only the hand-over is missing.
                await context.Publish(new JudgeAnswers { RunId = message.RunId, RunPersonaId = message.RunPersonaId, BatchId = message.BatchId, AgentId = message.AgentId }, ct);
                return;
        }

        // Another delivery at work on this batch hands it on itself: this one would only pay for the same calls again.
        await using var claim = await WorkClaim.TryTakeAsync(stage, db, work.WorkId, BatchStage.Answering, WorkClaim.HolderOf(context), logger, ct);
        if (claim is null)
        {
            logger.LogDebug("AnswerQuestions for batch {BatchId} / agent {AgentId}: another delivery is answering it", message.BatchId, message.AgentId);
            return;
        }

        // What a run never changes comes from memory after the first message; what other deliveries write is read now.
        var agent = (await stage.Facts.ModelsAsync(message.RunId, ct)).Get(message.AgentId);
        var persona = await stage.Facts.PersonaTextAsync(message.RunPersonaId, ct);
        var questions = (await stage.Facts.BatchAsync(message.BatchId, ct)).Questions;
        var answered = await RunCoordinator.AnsweredAsync(db, message.BatchId, message.AgentId, ct);
        var missing = questions.Where(q => !answered.Contains(q.Id)).ToList();

        if (missing.Count > 0)
        {
            if (work.HasBudget && await stage.Coordinator.BudgetExhaustedAsync(message.RunId, ct)) return;

            var client = stage.Model(agent.Spec);
            try
            {
                await Task.WhenAll(missing.Select(async question =>
                {
                    var started = Stopwatch.GetTimestamp();
                    var result = await stage.Method.AnswerAsync(client, persona, question.Text, ct);
                    await SaveAnswerAsync(new Answer
                    {
                        RunId = message.RunId,
                        QuestionId = question.Id,
                        AgentId = message.AgentId,
                        Text = result.Value,
                        InputTokens = ToInt(result.Usage?.InputTokenCount),
                        OutputTokens = ToInt(result.Usage?.OutputTokenCount),
                        LatencyMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                        CreatedAt = stage.Time.GetUtcNow(),
                    });
                }));
            }
            catch (Exception ex) when (StageFailures.IsPermanent(ex, context, stage.Options))
            {
                logger.LogWarning(ex, "Answering failed for batch {BatchId} / agent {AgentSpec}", message.BatchId, agent.Spec);
                await stage.Coordinator.FailBatchAsync(message.BatchId, message.AgentId, "answering: " + StageFailures.Describe(ex), ct);
                await stage.Coordinator.TryCompleteAsync(message.RunId, ct);
                return;
            }
        }

        var now = stage.Time.GetUtcNow();
        await db.BatchWork.Where(w => w.Id == work.WorkId && w.Stage == BatchStage.Answering)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Stage, BatchStage.Judging).SetProperty(w => w.LastProgressAt, now)
                .SetProperty(w => w.ClaimedBy, (Guid?)null).SetProperty(w => w.ClaimedAt, (DateTimeOffset?)null), ct);
        claim.HandedOver();

        await context.Publish(new JudgeAnswers { RunId = message.RunId, RunPersonaId = message.RunPersonaId, BatchId = message.BatchId, AgentId = message.AgentId }, ct);
    }

    // Not cancellable: the answer was paid for, so it is kept even when the host is shutting down. A duplicate means
    // another delivery stored this answer first; theirs is kept.
    private Task SaveAnswerAsync(Answer answer) => stage.Writer.AddAsync(answer, duplicateIsDone: true);

    private static int? ToInt(long? value) => value is null ? null : (int)Math.Min(value.Value, int.MaxValue);
}
