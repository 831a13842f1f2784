using MassTransit;
using PersonaGym.Core;
using PersonaGym.Models;

namespace PersonaGym.Pipeline.Stages;

/// <summary>
/// Decides when a failed item stops being retried and is stored as failed with its reason (so the run finishes
/// and shows it) instead of going round again.
/// </summary>
public static class StageFailures
{
    public static bool IsPermanent(Exception exception, ConsumeContext context, PipelineOptions options)
    {
        if (exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested) return false;

        return exception switch
        {
            // The method already re-asked the model a bounded number of times; the same prompts would fail again.
            StageFailedException => true,
            ModelCallException { IsTransient: false } => true,
            ModelConfigurationException => true,
            _ => context.GetRetryAttempt() >= options.MessageRetries,
        };
    }

    /// <summary>A one-line reason for reports; never includes keys (the model layer scrubs them from its messages).</summary>
    public static string Describe(Exception exception) => exception switch
    {
        StageFailedException failed => $"{failed.Message} Last output: {Preview(failed.Rejected.LastOrDefault()?.Text)}",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };

    private static string Preview(string? text) =>
        text is null ? "(none)" : text.Length > 300 ? text[..300] + "…" : text;
}
