using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;

namespace PersonaGym.Core.Evaluation;

/// <summary>
/// One PersonaGym task as a Microsoft.Extensions.AI.Evaluation evaluator: it grades one (question, answer)
/// exchange of a persona agent. The exemplar writer produces the five example answers for the question, and the
/// judge from <see cref="ChatConfiguration"/> grades the answer against them, as in the method's judging stage.
/// </summary>
public sealed class PersonaTaskEvaluator(PersonaTask task, string persona, PersonaGymMethod method, IChatClient exemplarWriter) : IEvaluator
{
    /// <summary>Scores at or above this pass (rubric level 3 is "plausible but generic").</summary>
    public int PassingScore { get; init; } = 3;

    public PersonaTask Task { get; } = task;

    /// <summary>The metric is named after the task ("Expected Action").</summary>
    public string MetricName => Task.DisplayName();

    public IReadOnlyCollection<string> EvaluationMetricNames => [MetricName];

    public async ValueTask<EvaluationResult> EvaluateAsync(IEnumerable<ChatMessage> messages, ChatResponse modelResponse,
        ChatConfiguration? chatConfiguration = null, IEnumerable<EvaluationContext>? additionalContext = null,
        CancellationToken cancellationToken = default)
    {
        var metric = new NumericMetric(MetricName);
        var result = new EvaluationResult(metric);
        var rubric = method.Assets.Rubric(Task);
        metric.AddOrUpdateMetadata("rubric-version", rubric.Version);

        if (chatConfiguration is null)
        {
            metric.AddDiagnostics(EvaluationDiagnostic.Error("No ChatConfiguration was given: it supplies the judge model."));
            return result;
        }
        if (!messages.TryGetUserRequest(out var request) || string.IsNullOrWhiteSpace(request.Text))
        {
            metric.AddDiagnostics(EvaluationDiagnostic.Error("The conversation has no user message: there is no question to grade against."));
            return result;
        }
        var answer = modelResponse.Text;
        if (ReplyText.IsBlank(answer))
        {
            metric.AddDiagnostics(EvaluationDiagnostic.Error("The persona agent's response is empty."));
            return result;
        }

        try
        {
            var exemplars = await method.WriteExemplarsAsync(exemplarWriter, persona, Task, [request.Text], cancellationToken).ConfigureAwait(false);
            Report(metric, "exemplars", exemplars.Rejected);
            var verdicts = await method.JudgeBatchAsync(chatConfiguration.ChatClient, persona, Task,
                [new JudgeItem(request.Text, answer, exemplars.Value[0])], cancellationToken).ConfigureAwait(false);
            Report(metric, "judge", verdicts.Rejected);

            var verdict = verdicts.Value[0];
            metric.Reason = verdict.Reasoning;
            if (verdict.Score is int score)
            {
                metric.Value = score;
                metric.Interpretation = Interpret(score);
            }
            else
            {
                metric.AddDiagnostics(EvaluationDiagnostic.Error($"The judge's verdict has no usable score: {verdict.Failure}"));
            }
        }
        catch (StageFailedException failed)
        {
            metric.AddDiagnostics(EvaluationDiagnostic.Error(failed.Message));
        }
        return result;
    }

    /// <summary>PersonaGym's 1-5 scale read as a rating: 5 exceptional, 4 good, 3 average, 2 poor, 1 unacceptable.</summary>
    public EvaluationMetricInterpretation Interpret(int score)
    {
        var rating = score switch
        {
            >= 5 => EvaluationRating.Exceptional,
            4 => EvaluationRating.Good,
            3 => EvaluationRating.Average,
            2 => EvaluationRating.Poor,
            _ => EvaluationRating.Unacceptable,
        };
        var failed = score < PassingScore;
        var reason = $"{MetricName} is scored 1 to 5: 5 means {Summary(5)}; 1 means {Summary(1)}. "
            + $"A score of {score} {(failed ? "is below" : "meets")} the passing score of {PassingScore}.";
        return new EvaluationMetricInterpretation(rating, failed, reason);
    }

    private string Summary(int level)
    {
        var text = method.Assets.Rubric(Task).Levels[level];
        var firstSentence = text.Split(". ", 2)[0].TrimEnd('.');
        return char.ToLowerInvariant(firstSentence[0]) + firstSentence[1..];
    }

    private static void Report(NumericMetric metric, string stage, IReadOnlyList<RejectedOutput> rejected)
    {
        foreach (var r in rejected)
            metric.AddDiagnostics(EvaluationDiagnostic.Warning($"The {stage} model's output was rejected and re-asked: {r.Reason}"));
    }
}
