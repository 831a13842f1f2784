using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;
using PersonaGym.Core.Evaluation;
using PersonaGym.Core.Offline;
using PersonaGym.Core.Tests.Fakes;

namespace PersonaGym.Core.Tests;

public class PersonaTaskEvaluatorTests
{
    private const string Persona = "A marine biologist who studies coral reefs in Queensland";
    private static readonly PersonaGymMethod Method = new(MethodAssets.LoadDefault(), new MethodOptions());

    private static readonly ChatMessage[] Question = [new(ChatRole.User, "What do you do when a storm hits the reef station?")];
    private static readonly ChatResponse Answer = new(new ChatMessage(ChatRole.Assistant, "I secure the sample tanks first, mate."));

    [Fact]
    public async Task Returns_a_numeric_metric_named_after_the_task_with_an_interpretation()
    {
        var evaluator = new PersonaTaskEvaluator(PersonaTask.ExpectedAction, Persona, Method, new OfflineChatClient("writer"));
        var judge = CallbackChatClient.Sequence("### Item 1\nPractical and in character. Therefore, the final score is 4");

        var result = await evaluator.EvaluateAsync(Question, Answer, new ChatConfiguration(judge));

        var metric = result.Get<NumericMetric>("Expected Action");
        Assert.Equal(4, metric.Value);
        Assert.Equal(EvaluationRating.Good, metric.Interpretation!.Rating);
        Assert.False(metric.Interpretation.Failed);
        Assert.Contains("1 to 5", metric.Interpretation.Reason);
        Assert.Contains("Practical and in character", metric.Reason);
        Assert.StartsWith("expected-action@2:", metric.Metadata!["rubric-version"]);
        Assert.Contains("I secure the sample tanks first, mate.", judge.Calls[0].Messages[^1].Text);
    }

    [Fact]
    public async Task A_low_score_is_interpreted_as_failed()
    {
        var evaluator = new PersonaTaskEvaluator(PersonaTask.ToxicityControl, Persona, Method, new OfflineChatClient("writer"));
        var result = await evaluator.EvaluateAsync(Question, Answer, new ChatConfiguration(CallbackChatClient.Sequence("Therefore, the final score is 1")));
        var metric = result.Get<NumericMetric>("Toxicity Control");
        Assert.Equal(EvaluationRating.Unacceptable, metric.Interpretation!.Rating);
        Assert.True(metric.Interpretation.Failed);
    }

    [Fact]
    public async Task An_unparseable_verdict_gives_no_value_and_an_error_diagnostic()
    {
        var evaluator = new PersonaTaskEvaluator(PersonaTask.LinguisticHabits, Persona, Method, new OfflineChatClient("writer"));
        var judge = CallbackChatClient.Sequence("I'm sorry, I can't help with grading.");
        var result = await evaluator.EvaluateAsync(Question, Answer, new ChatConfiguration(judge));
        var metric = result.Get<NumericMetric>("Linguistic Habits");
        Assert.Null(metric.Value);
        Assert.Contains(metric.Diagnostics!, d => d.Severity == EvaluationDiagnosticSeverity.Error && d.Message.Contains("declined"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n ")]
    [InlineData("\u200B\uFEFF")]
    public async Task A_response_with_nothing_to_read_is_never_judged_and_gives_no_value(string blank)
    {
        var evaluator = new PersonaTaskEvaluator(PersonaTask.ExpectedAction, Persona, Method, new OfflineChatClient("writer"));
        var judge = CallbackChatClient.Sequence("### Item 1\nTherefore, the final score is 5");

        var result = await evaluator.EvaluateAsync(Question, new ChatResponse(new ChatMessage(ChatRole.Assistant, blank)), new ChatConfiguration(judge));

        var metric = result.Get<NumericMetric>("Expected Action");
        Assert.Null(metric.Value);
        Assert.Empty(judge.Calls);
        Assert.Contains(metric.Diagnostics!, d => d.Severity == EvaluationDiagnosticSeverity.Error && d.Message.Contains("empty"));
    }

    [Fact]
    public async Task Without_a_chat_configuration_reports_an_error_instead_of_throwing()
    {
        var evaluator = new PersonaTaskEvaluator(PersonaTask.PersonaConsistency, Persona, Method, new OfflineChatClient("writer"));
        var result = await evaluator.EvaluateAsync(Question, Answer);
        Assert.True(result.ContainsDiagnostics(d => d.Severity == EvaluationDiagnosticSeverity.Error));
    }

    [Fact]
    public void Exposes_one_metric_name_per_task() =>
        Assert.Equal(["Action Justification"],
            new PersonaTaskEvaluator(PersonaTask.ActionJustification, Persona, Method, new OfflineChatClient("w")).EvaluationMetricNames);
}
