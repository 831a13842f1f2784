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
/// Stages 4–5 for one batch and one agent: the batch's score exemplars (written once per question, writer and
/// rubric version, and shared by every agent and run that needs them), then every judge grades the agent's
/// answers in one call per judge (paper: 5 answers per call). Each judge's verdicts are stored as soon as they
/// arrive; unparseable verdicts are stored with their raw text and counted as parse failures, never as scores.
/// </summary>
public sealed class JudgeConsumer(StageServices stage, ILogger<JudgeConsumer> logger) : IConsumer<JudgeAnswers>
{
    public async Task Consume(ConsumeContext<JudgeAnswers> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        using var _ = LlmCallContext.ForRun(message.RunId);

        await using var db = await stage.Contexts.CreateDbContextAsync(ct);
        var work = await RunCoordinator.BatchStateAsync(db, message.RunId, message.BatchId, message.AgentId, ct);
        if (work is null)
        {
            if (await stage.Coordinator.IsActiveAsync(message.RunId, ct))
                logger.LogWarning("JudgeAnswers for unknown batch {BatchId} / agent {AgentId}: ignored", message.BatchId, message.AgentId);
            return;
        }

        if (!work.RunIsActive || work.Stage is BatchStage.Failed or BatchStage.Answering) return;

        if (work.Stage != BatchStage.Done)
        {
            // Another delivery judging this batch hands it on itself: this one would only pay for the same calls again.
            await using var claim = await WorkClaim.TryTakeAsync(stage, db, work.WorkId, BatchStage.Judging, WorkClaim.HolderOf(context), logger, ct);
            if (claim is null)
            {
                logger.LogDebug("JudgeAnswers for batch {BatchId} / agent {AgentId}: another delivery is judging it", message.BatchId, message.AgentId);
                return;
            }

            // What a run never changes comes from memory after the first message; what other deliveries write is read now.
            var models = await stage.Facts.ModelsAsync(message.RunId, ct);
            var persona = await stage.Facts.PersonaTextAsync(message.RunPersonaId, ct);
            var batch = await stage.Facts.BatchAsync(message.BatchId, ct);
            var judges = models.Judges;
            var questions = batch.Questions;
            var answers = await db.Answers.AsNoTracking().Where(a => a.AgentId == message.AgentId && a.Question.BatchId == message.BatchId)
                .ToDictionaryAsync(a => a.QuestionId, ct);
            var task = batch.Task;
            var rubric = stage.Method.Assets.Rubric(task);

            try
            {
                if (questions.Any(q => !answers.ContainsKey(q.Id)))
                    throw new InvalidOperationException("the batch is marked answered but some answers are missing");

                var exemplars = await EnsureExemplarsAsync(models.ExemplarWriterSpec, message.BatchId, persona, task, rubric.Version, questions.Select(q => (q.Id, q.Text)).ToList(), ct);
                var items = questions.Select(q => new JudgeItem(q.Text, answers[q.Id].Text, exemplars[q.Id])).ToList();
                var answerIds = questions.Select(q => answers[q.Id].Id).ToList();

                var judged = await db.Judgements.AsNoTracking().Where(j => answerIds.Contains(j.AnswerId))
                    .Select(j => new { j.JudgeId, j.AnswerId }).ToListAsync(ct);
                var pending = judges.Where(j => judged.Count(x => x.JudgeId == j.Id) < answerIds.Count).ToList();
                if (pending.Count > 0 && work.HasBudget && await stage.Coordinator.BudgetExhaustedAsync(message.RunId, ct)) return;

                await Task.WhenAll(pending.Select(judge => JudgeAsync(message.RunId, judge, persona, task, rubric.Version, items, answerIds, ct)));
            }
            catch (Exception ex) when (StageFailures.IsPermanent(ex, context, stage.Options))
            {
                logger.LogWarning(ex, "Judging failed for batch {BatchId} / agent {AgentId}", message.BatchId, message.AgentId);
                await stage.Coordinator.FailBatchAsync(message.BatchId, message.AgentId, "judging: " + StageFailures.Describe(ex), ct);
                await stage.Coordinator.TryCompleteAsync(message.RunId, ct);
                return;
            }

            var now = stage.Time.GetUtcNow();
            await db.BatchWork.Where(w => w.Id == work.WorkId && w.Stage == BatchStage.Judging)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.Stage, BatchStage.Done).SetProperty(w => w.LastProgressAt, now)
                    .SetProperty(w => w.ClaimedBy, (Guid?)null).SetProperty(w => w.ClaimedAt, (DateTimeOffset?)null), ct);
            claim.HandedOver();
        }

        await context.Publish(new BatchJudged { RunId = message.RunId, RunPersonaId = message.RunPersonaId, BatchId = message.BatchId, AgentId = message.AgentId }, ct);
    }

    /// <summary>
    /// The 1–5 exemplars of each question, from the database or written in one call for the whole batch. When several
    /// models under test reach the batch at once, an <see cref="ExemplarClaim"/> lets one of them write while the others
    /// wait for its rows, so the exemplar call is paid for once; the writer renews the claim, so a dead writer's claim
    /// is taken over after one lease.
    /// </summary>
    private async Task<Dictionary<Guid, RubricExemplars>> EnsureExemplarsAsync(
        string writer, Guid batchId, string persona, PersonaTask task, string rubricVersion, IReadOnlyList<(Guid Id, string Text)> questions, CancellationToken ct)
    {
        var waitUntil = stage.Time.GetUtcNow() + stage.Options.ExemplarWaitLimit;
        while (true)
        {
            var stored = await LoadExemplarsAsync(writer, rubricVersion, questions, ct);
            if (stored.Count == questions.Count) return stored;

            if (await TryClaimAsync(batchId, writer, rubricVersion, ct) is { } claimId)
            {
                using var renewal = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var renewing = RenewClaimAsync(claimId, renewal.Token);
                try
                {
                    // The previous holder may have stored them and let go between our look and our claim.
                    stored = await LoadExemplarsAsync(writer, rubricVersion, questions, ct);
                    if (stored.Count < questions.Count)
                        await WriteExemplarsAsync(writer, persona, task, rubricVersion, questions, stored, ct);
                }
                finally
                {
                    await renewal.CancelAsync();
                    await renewing;
                    // Done or failed, the claim goes: the rows now exist, or another delivery may try.
                    await using var db = await stage.Contexts.CreateDbContextAsync(CancellationToken.None);
                    await db.ExemplarClaims.Where(c => c.Id == claimId).ExecuteDeleteAsync(CancellationToken.None);
                }

                return await LoadExemplarsAsync(writer, rubricVersion, questions, ct);
            }

            if (stage.Time.GetUtcNow() > waitUntil)
                throw new TimeoutException($"the exemplars of batch {batchId} were claimed by another worker and did not appear in {stage.Options.ExemplarWaitLimit}");
            await Task.Delay(ClaimPollInterval, stage.Time, ct);
        }
    }

    private static readonly TimeSpan ClaimPollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Keeps the claim fresh while its exemplar call runs, so only a dead writer's claim goes stale.</summary>
    private Task RenewClaimAsync(Guid claimId, CancellationToken ct) =>
        ClaimRenewal.RunAsync(stage, stage.Options.ExemplarClaimLease, logger, $"exemplar claim {claimId}",
            (db, now, token) => db.ExemplarClaims.Where(c => c.Id == claimId).ExecuteUpdateAsync(s => s.SetProperty(c => c.ClaimedAt, now), token),
            ct);

    /// <summary>Claims the batch's exemplars for this delivery, taking over a claim not renewed for a lease; null when someone else holds it.</summary>
    private async Task<Guid?> TryClaimAsync(Guid batchId, string writer, string rubricVersion, CancellationToken ct)
    {
        var now = stage.Time.GetUtcNow();
        await using var db = await stage.Contexts.CreateDbContextAsync(ct);
        // Looked up first: when several models under test reach a batch, most deliveries find the claim held, and
        // inserting blindly would make each of them a unique-index violation in the database's and the worker's logs.
        var existing = await FindClaimAsync(db, batchId, writer, rubricVersion, ct);
        if (existing is null)
        {
            var claim = new ExemplarClaim { BatchId = batchId, WriterSpec = writer, RubricVersion = rubricVersion, ClaimedAt = now };
            db.ExemplarClaims.Add(claim);
            try
            {
                await db.SaveChangesAsync(ct);
                return claim.Id;
            }
            catch (DbUpdateException ex) when (DbExceptions.IsUniqueViolation(ex))
            {
                // Claimed between the look-up and the insert.
                db.ChangeTracker.Clear();
            }

            existing = await FindClaimAsync(db, batchId, writer, rubricVersion, ct);
        }

        // Held by another delivery; a claim whose holder stopped renewing it is taken over, by one taker only.
        var stale = now - stage.Options.ExemplarClaimLease;
        if (existing is null || existing.ClaimedAt >= stale) return null;
        var taken = await db.ExemplarClaims.Where(c => c.Id == existing.Id && c.ClaimedAt == existing.ClaimedAt)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.ClaimedAt, now), ct);
        return taken == 1 ? existing.Id : null;
    }

    private static Task<ExemplarClaim?> FindClaimAsync(
        PersonaGymDbContext db, Guid batchId, string writer, string rubricVersion, CancellationToken ct) =>
        db.ExemplarClaims.AsNoTracking()
            .FirstOrDefaultAsync(c => c.BatchId == batchId && c.WriterSpec == writer && c.RubricVersion == rubricVersion, ct);

    private async Task WriteExemplarsAsync(
        string writer, string persona, PersonaTask task, string rubricVersion, IReadOnlyList<(Guid Id, string Text)> questions,
        IReadOnlyDictionary<Guid, RubricExemplars> stored, CancellationToken ct)
    {
        var result = await stage.Method.WriteExemplarsAsync(
            stage.Model(writer), persona, task, questions.Select(q => q.Text).ToList(), ct);
        var now = stage.Time.GetUtcNow();
        await using var db = await stage.Contexts.CreateDbContextAsync(CancellationToken.None);
        for (var i = 0; i < questions.Count; i++)
        {
            if (stored.ContainsKey(questions[i].Id)) continue;
            foreach (var (score, text) in result.Value[i].AnswerByScore)
            {
                db.Exemplars.Add(new Exemplar
                {
                    QuestionId = questions[i].Id,
                    WriterSpec = writer,
                    RubricVersion = rubricVersion,
                    Score = score,
                    Text = text,
                    CreatedAt = now,
                });
            }
        }

        try
        {
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (DbUpdateException ex) when (DbExceptions.IsUniqueViolation(ex))
        {
            // Written meanwhile by a delivery that took over a stale claim: theirs stand, so every model under test is
            // judged against the same exemplars.
        }
    }

    private async Task<Dictionary<Guid, RubricExemplars>> LoadExemplarsAsync(
        string writer, string rubricVersion, IReadOnlyList<(Guid Id, string Text)> questions, CancellationToken ct)
    {
        await using var db = await stage.Contexts.CreateDbContextAsync(ct);
        var ids = questions.Select(q => q.Id).ToList();
        var rows = await db.Exemplars.AsNoTracking()
            .Where(e => ids.Contains(e.QuestionId) && e.WriterSpec == writer && e.RubricVersion == rubricVersion)
            .ToListAsync(ct);
        return questions
            .Select(q => (q, Levels: rows.Where(r => r.QuestionId == q.Id).ToDictionary(r => r.Score, r => r.Text)))
            .Where(x => x.Levels.Count == PersonaGym.Core.Scoring.PersonaScoring.MaxScore)
            .ToDictionary(x => x.q.Id, x => new RubricExemplars(x.q.Text, x.Levels));
    }

    private async Task JudgeAsync(
        Guid runId, RunModelFact judge, string persona, PersonaTask task, string rubricVersion,
        IReadOnlyList<JudgeItem> items, IReadOnlyList<Guid> answerIds, CancellationToken ct)
    {
        IReadOnlyList<JudgeVerdict> verdicts;
        string raw;
        try
        {
            var result = await stage.Method.JudgeBatchAsync(stage.Model(judge.Spec), persona, task, items, ct);
            verdicts = result.Value;
            raw = result.RawOutput;
        }
        catch (StageFailedException failed)
        {
            // Every attempt was unparseable: store each item as a parse failure with the judge's raw text, so the
            // report counts it and excludes it from the means (paper's rule, without the reference code's zero).
            raw = failed.Rejected.LastOrDefault()?.Text ?? "";
            var reason = failed.Rejected.LastOrDefault()?.Reason ?? failed.Message;
            verdicts = items.Select((_, i) => new JudgeVerdict(i, null, "", reason)).ToList();
        }

        var now = stage.Time.GetUtcNow();
        List<Guid> existing;
        await using (var db = await stage.Contexts.CreateDbContextAsync(CancellationToken.None))
        {
            existing = await db.Judgements.AsNoTracking().Where(j => j.JudgeId == judge.Id && answerIds.Contains(j.AnswerId))
                .Select(j => j.AnswerId).ToListAsync(CancellationToken.None);
        }

        var rows = new List<object>();
        foreach (var verdict in verdicts.Where(v => v.ItemIndex >= 0 && v.ItemIndex < answerIds.Count))
        {
            if (existing.Contains(answerIds[verdict.ItemIndex])) continue;
            rows.Add(new Judgement
            {
                RunId = runId,
                AnswerId = answerIds[verdict.ItemIndex],
                JudgeId = judge.Id,
                ItemIndex = verdict.ItemIndex,
                Score = verdict.Score,
                ParseFailure = verdict.Failure,
                Reasoning = verdict.Reasoning,
                RawText = verdict.RawOutput ?? raw,
                RubricVersion = rubricVersion,
                CreatedAt = now,
            });
        }

        // A duplicate means a concurrent delivery stored this judge's verdicts first; one judgement per answer and judge stands.
        if (rows.Count > 0) await stage.Writer.AddAsync(rows, duplicateIsDone: true);
    }
}
