using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Stages;

/// <summary>
/// One delivery's claim on one agent's batch at one stage (<see cref="BatchWork.ClaimedBy"/>), taken before any model
/// is called. Consumers are idempotent against work that is stored, but not against work under way: two messages for
/// one batch delivered at once (the first still queued or answering when the stall detector or the sweeper publishes
/// it again) would each make and pay for the same calls. With the claim, the second finds the first at work and is
/// dropped; the holder hands the work on. The holder is the message id, which a broker's redelivery keeps: the message
/// of a worker that died is redelivered and takes its claim over at once, while a fresh re-publication waits for the
/// lease (<see cref="PipelineOptions.WorkClaimLease"/>) to run out. The claim is renewed while the work goes on and
/// released by the stage's hand-over, or when the delivery ends without one.
/// </summary>
public sealed class WorkClaim : IAsyncDisposable
{
    private readonly StageServices _stage;
    private readonly Guid _workId;
    private readonly Guid _holder;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _renewal = new();
    private readonly Task _renewing;
    private bool _handedOver;

    private WorkClaim(StageServices stage, Guid workId, Guid holder, ILogger logger)
    {
        _stage = stage;
        _workId = workId;
        _holder = holder;
        _logger = logger;
        _renewing = RenewAsync(_renewal.Token);
    }

    /// <summary>
    /// Claims the work item <paramref name="workId"/> at <paramref name="batchStage"/> for <paramref name="holder"/>: when
    /// nobody holds it, the holder itself does (a redelivery or a retry), or the last holder stopped renewing it. Null
    /// when another delivery holds it, or the work has moved on from that stage.
    /// </summary>
    public static async Task<WorkClaim?> TryTakeAsync(
        StageServices stage, PersonaGymDbContext db, Guid workId, BatchStage batchStage, Guid holder, ILogger logger, CancellationToken cancellationToken)
    {
        var now = stage.Time.GetUtcNow();
        var stale = now - stage.Options.WorkClaimLease;
        var taken = await db.BatchWork
            .Where(w => w.Id == workId && w.Stage == batchStage && (w.ClaimedBy == null || w.ClaimedBy == holder || w.ClaimedAt < stale))
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.ClaimedBy, holder).SetProperty(w => w.ClaimedAt, now), cancellationToken);
        return taken == 1 ? new WorkClaim(stage, workId, holder, logger) : null;
    }

    /// <summary>The holder of a message: its id, which a broker's redelivery keeps.</summary>
    public static Guid HolderOf(MassTransit.ConsumeContext context) => context.MessageId ?? Guid.NewGuid();

    /// <summary>Says that the stage's hand-over (which clears <see cref="BatchWork.ClaimedBy"/> with the stage) released the claim.</summary>
    public void HandedOver() => _handedOver = true;

    public async ValueTask DisposeAsync()
    {
        await _renewal.CancelAsync();
        await _renewing;
        _renewal.Dispose();
        if (_handedOver) return;

        try
        {
            // Not cancellable: a claim left behind keeps every other message for this work waiting for the lease.
            await using var db = await _stage.Contexts.CreateDbContextAsync(CancellationToken.None);
            await db.BatchWork.Where(w => w.Id == _workId && w.ClaimedBy == _holder)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.ClaimedBy, (Guid?)null).SetProperty(w => w.ClaimedAt, (DateTimeOffset?)null), CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The lease runs out instead; a redelivery of this message takes the claim over at once anyway.
            _logger.LogDebug(ex, "Could not release the claim on work item {WorkId}", _workId);
        }
    }

    private Task RenewAsync(CancellationToken cancellationToken) =>
        ClaimRenewal.RunAsync(_stage, _stage.Options.WorkClaimLease, _logger, $"the claim on work item {_workId}",
            (db, now, ct) => db.BatchWork.Where(w => w.Id == _workId && w.ClaimedBy == _holder)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.ClaimedAt, now), ct),
            cancellationToken);
}

/// <summary>Keeps a claim fresh while its holder works, so only a dead holder's claim goes stale.</summary>
internal static class ClaimRenewal
{
    /// <summary>
    /// Runs <paramref name="renew"/> (given a fresh context and the time now) every third of <paramref name="lease"/>
    /// until cancelled. A renewal that fails is logged and the loop goes on: a missed renewal costs at most a second
    /// delivery's calls, and must not fail the work.
    /// </summary>
    public static async Task RunAsync(
        StageServices stage, TimeSpan lease, ILogger logger, string what,
        Func<PersonaGymDbContext, DateTimeOffset, CancellationToken, Task> renew, CancellationToken cancellationToken)
    {
        var every = lease / 3;
        try
        {
            while (true)
            {
                await Task.Delay(every, stage.Time, cancellationToken);
                var now = stage.Time.GetUtcNow();
                try
                {
                    await using var db = await stage.Contexts.CreateDbContextAsync(cancellationToken);
                    await renew(db, now, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogDebug(ex, "Could not renew {Claim}", what);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The holder finished.
        }
    }
}
