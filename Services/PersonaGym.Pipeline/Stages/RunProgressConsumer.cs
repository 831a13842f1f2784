using MassTransit;
using PersonaGym.Contracts;

namespace PersonaGym.Pipeline.Stages;

/// <summary>Completion detection: after each judged batch, checks whether the run has anything left to do.</summary>
public sealed class RunProgressConsumer(StageServices stage) : IConsumer<BatchJudged>
{
    public async Task Consume(ConsumeContext<BatchJudged> context)
    {
        // Most judged batches leave others of their persona open: one read then, instead of the full check's update.
        if (await stage.Coordinator.HasOpenBatchesAsync(context.Message.RunPersonaId, context.CancellationToken)) return;

        var status = await stage.Coordinator.TryCompleteAsync(context.Message.RunId, context.CancellationToken);
        if (status is { } finished)
        {
            await context.Publish(new RunCompleted { RunId = context.Message.RunId, Status = finished.ToString() }, context.CancellationToken);
        }
    }
}
