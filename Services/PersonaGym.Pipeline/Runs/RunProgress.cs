using PersonaGym.Core;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Runs;

/// <summary>One stage of a run's progress: how much is done of how much, how fast, and when it should end.</summary>
/// <param name="Stage">The method's stage name (<see cref="MethodStages"/>).</param>
/// <param name="Total">How much the stage has to do; null while not yet known (e.g. questions not written yet).</param>
/// <param name="PerMinute">Items finished per minute since the run started; null before the first.</param>
/// <param name="Remaining">At that rate, how long the rest takes; null when unknown or finished.</param>
public sealed record StageProgress(string Stage, int Done, int? Total, double? PerMinute, TimeSpan? Remaining);

/// <summary>A run's state at one moment, as the progress stream (<c>GET /api/runs/{id}/progress</c>) sends it.</summary>
/// <param name="Settled">True once the run is no longer pending or running: the stream ends after this event.</param>
public sealed record RunProgressSnapshot(DateTimeOffset At, RunSummary Summary, IReadOnlyList<StageProgress> Stages, bool Settled);

public static class RunProgress
{
    /// <summary>
    /// The five stages of the method, counted from the stored rows: personas with environments and questions, batches
    /// answered, exemplar calls, batches judged. Rates are averages since the run was created.
    /// </summary>
    public static RunProgressSnapshot Snapshot(RunSummary summary, DateTimeOffset now)
    {
        var settled = summary.Status is not (RunStatus.Pending or RunStatus.Running);
        var elapsed = (summary.CompletedAt ?? now) - summary.CreatedAt;
        var batches = summary.Batches;
        var agents = Math.Max(1, summary.Agents.Count);
        // Exemplars are written once per batch of questions, whatever the number of models under test.
        var exemplarCalls = summary.UsageByStage.FirstOrDefault(s => s.Stage == LlmCallStage.Exemplars)?.Usage.Calls ?? 0;
        var personasKnown = summary.Personas.Total;
        var batchesKnown = summary.Personas.QuestionsReady == personasKnown && personasKnown > 0;

        StageProgress Stage(string name, int done, int? total)
        {
            double? rate = done > 0 && elapsed > TimeSpan.Zero ? done / elapsed.TotalMinutes : null;
            TimeSpan? remaining = total is { } t && rate is > 0 && done < t && !settled ? TimeSpan.FromMinutes((t - done) / rate.Value) : null;
            return new StageProgress(name, done, total, rate, remaining);
        }

        return new RunProgressSnapshot(now, summary,
        [
            Stage(MethodStages.Environments, summary.Personas.QuestionsReady, personasKnown),
            Stage(MethodStages.Questions, summary.Personas.QuestionsReady, personasKnown),
            Stage(MethodStages.Answer, batches.Answered, batchesKnown ? batches.Planned : null),
            Stage(MethodStages.Exemplars, Math.Min(exemplarCalls, batches.Planned / agents), batchesKnown ? batches.Planned / agents : null),
            Stage(MethodStages.Judge, batches.Judged, batchesKnown ? batches.Planned : null),
        ], settled);
    }
}
