using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Models;

namespace PersonaGym.Pipeline.Llm;

/// <summary>
/// Stores one <see cref="LlmCall"/> row per model call, attributed to the run in <see cref="LlmCallContext"/>. The call
/// returns once its row is committed (budgets count these rows), in a commit shared with the calls of the same moment.
/// </summary>
public sealed class DatabaseLlmCallRecorder(
    GroupCommitWriter writer,
    ILogger<DatabaseLlmCallRecorder> logger) : ILlmCallRecorder
{
    public async ValueTask RecordAsync(LlmCallRecord record, CancellationToken cancellationToken)
    {
        try
        {
            // Not cancellable: the call was made (and maybe paid for); its record must not be lost to a shutdown.
            await writer.AddAsync(new LlmCall
            {
                RunId = LlmCallContext.RunId,
                Stage = StageOf(record.Stage),
                Model = record.Model,
                InputTokens = ToInt(record.InputTokens),
                OutputTokens = ToInt(record.OutputTokens),
                LatencyMs = (long)record.Latency.TotalMilliseconds,
                CacheHit = record.CacheHit,
                Succeeded = record.Succeeded,
                Error = record.Error is { Length: > 2000 } e ? e[..2000] : record.Error,
                At = record.At,
            }, duplicateIsDone: false);
        }
        catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException)
        {
            // Accounting must never fail the work it accounts for.
            logger.LogWarning(ex, "Could not record an LLM call to {Model}", record.Model);
        }
    }

    public static LlmCallStage StageOf(string? stage) => stage switch
    {
        MethodStages.Environments => LlmCallStage.EnvironmentSelection,
        MethodStages.Questions => LlmCallStage.QuestionGeneration,
        MethodStages.Answer => LlmCallStage.Answering,
        MethodStages.Exemplars => LlmCallStage.Exemplars,
        MethodStages.Judge => LlmCallStage.Judging,
        _ => LlmCallStage.Other,
    };

    private static int? ToInt(long? value) => value is null ? null : (int)Math.Min(value.Value, int.MaxValue);
}
