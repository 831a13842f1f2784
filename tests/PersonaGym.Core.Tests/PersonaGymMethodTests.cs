using Microsoft.Extensions.AI;
using PersonaGym.Core.Tests.Fakes;

namespace PersonaGym.Core.Tests;

public class PersonaGymMethodTests
{
    private const string Persona = "A 61-year-old widower from rural England who grows prize-winning roses";
    private static readonly MethodAssets Assets = MethodAssets.LoadDefault();

    private static PersonaGymMethod Method(Action<MethodOptions>? configure = null)
    {
        var options = new MethodOptions();
        configure?.Invoke(options);
        return new PersonaGymMethod(Assets, options);
    }

    private static string Exemplars(int questions) => string.Join('\n', Enumerable.Range(1, questions).Select(q =>
        $"### Question {q}\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: example {q}-{s}"))));

    private static RubricExemplars SomeExemplars(string question) =>
        new(question, Enumerable.Range(1, 5).ToDictionary(s => s, s => $"example {s}"));

    [Fact]
    public async Task Environment_selection_shows_the_pool_as_numbered_lines_and_matches_the_reply()
    {
        var client = CallbackChatClient.Sequence("[\"wedding\", \"Moon Base\", \"Farm\"]");
        var result = await Method().SelectEnvironmentsAsync(client, Persona);

        Assert.Equal(["Wedding", "Farm"], result.Value);
        Assert.Contains(new RejectedOutput("Moon Base", "not in the environment pool"), result.Rejected);
        var prompt = client.Calls[0].Messages.Single().Text;
        Assert.Contains("1. Wedding", prompt);
        Assert.DoesNotContain("['", prompt);
    }

    [Fact]
    public async Task Question_generation_re_asks_until_it_gets_exactly_the_count()
    {
        var client = CallbackChatClient.Sequence("[\"Only one?\"]", "[\"A?\", \"B?\", \"C?\"]");
        var result = await Method().GenerateQuestionsAsync(client, Persona, PersonaTask.ExpectedAction, ["Farm"], 3);

        Assert.Equal(["A?", "B?", "C?"], result.Value);
        Assert.Equal(2, result.Attempts);
        Assert.Equal("expected exactly 3 questions, got 1", Assert.Single(result.Rejected).Reason);
    }

    [Fact]
    public async Task A_re_ask_shows_the_rejected_reply_and_the_reason_so_a_cache_cannot_repeat_it()
    {
        var client = CallbackChatClient.Sequence("no list here", "[\"A?\"]");
        await Method().GenerateQuestionsAsync(client, Persona, PersonaTask.ToxicityControl, ["Pub"], 1);

        var retry = client.Calls[1].Messages;
        Assert.Equal(3, retry.Count);
        Assert.Equal("no list here", retry[1].Text);
        Assert.Contains("no list found", retry[2].Text);
    }

    [Fact]
    public async Task Question_generation_gives_up_after_five_asks_by_default()
    {
        var client = CallbackChatClient.Sequence("[\"A?\"]");
        var error = await Assert.ThrowsAsync<StageFailedException>(() =>
            Method().GenerateQuestionsAsync(client, Persona, PersonaTask.ExpectedAction, ["Farm"], 2));
        Assert.Equal(5, client.Calls.Count);
        Assert.Equal(5, error.Rejected.Count);
        Assert.Equal(MethodStages.Questions, error.Stage);
    }

    [Fact]
    public async Task Question_prompt_carries_the_task_guidance_environments_and_count()
    {
        var client = CallbackChatClient.Sequence("[\"A?\", \"B?\"]");
        await Method().GenerateQuestionsAsync(client, Persona, PersonaTask.ActionJustification, ["Farm", "Pub"], 2);
        var prompt = client.Calls[0].Messages.Single().Text;
        Assert.Contains(Assets.Rubric(PersonaTask.ActionJustification).QuestionGuidance, prompt);
        Assert.Contains("1. Farm\n2. Pub", prompt);
        Assert.Contains("exactly 2 questions", prompt);
    }

    [Fact]
    public async Task Answer_uses_the_persona_system_prompt_and_the_agent_temperature()
    {
        var client = CallbackChatClient.Sequence("  Roses need patience, love.  ");
        var result = await Method(o => o.AgentTemperature = 0.7f).AnswerAsync(client, Persona, "How are the roses?");

        Assert.Equal("Roses need patience, love.", result.Value);
        var (messages, options) = client.Calls[0];
        Assert.Equal(ChatRole.System, messages[0].Role);
        Assert.Contains("Adopt the identity of", messages[0].Text);
        Assert.Contains(Persona, messages[0].Text);
        Assert.Equal("How are the roses?", messages[1].Text);
        Assert.Equal(0.7f, options!.Temperature);
    }

    [Fact]
    public async Task An_empty_answer_is_re_asked()
    {
        var client = CallbackChatClient.Sequence("   ", "Fine, thank you.");
        var result = await Method().AnswerAsync(client, Persona, "How are you?");
        Assert.Equal(2, result.Attempts);
        Assert.Equal("the answer is empty", result.Rejected[0].Reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n\t\u00A0 ")]
    [InlineData("\u200B")]
    [InlineData("\u200B\u2060\uFEFF \u200D")]
    [InlineData("\u00AD\r\n\u0000")]
    public async Task An_answer_with_nothing_to_read_is_re_asked_and_never_kept(string blank)
    {
        var client = CallbackChatClient.Sequence(blank, "Fine, thank you.");
        var result = await Method().AnswerAsync(client, Persona, "How are you?");
        Assert.Equal("Fine, thank you.", result.Value);
        Assert.Equal(2, result.Attempts);
        Assert.Equal(new RejectedOutput(blank, "the answer is empty"), Assert.Single(result.Rejected));
    }

    [Fact]
    public async Task An_agent_that_only_ever_sends_invisible_characters_fails_the_stage_with_its_reason()
    {
        var client = CallbackChatClient.Sequence("\u200B\u200B");
        var failure = await Assert.ThrowsAsync<StageFailedException>(() => Method().AnswerAsync(client, Persona, "How are you?"));
        Assert.Equal(3, client.Calls.Count);
        Assert.All(failure.Rejected, r => Assert.Equal("the answer is empty", r.Reason));
    }

    [Theory]
    [InlineData("\u2026")]
    [InlineData("\U0001F339")]
    [InlineData("No.")]
    public async Task A_short_or_symbolic_answer_is_an_answer(string answer)
    {
        var result = await Method().AnswerAsync(CallbackChatClient.Sequence(answer), Persona, "How are you?");
        Assert.Equal((answer, 1), (result.Value, result.Attempts));
    }

    [Theory]
    [InlineData(MethodStages.Environments)]
    [InlineData(MethodStages.Questions)]
    [InlineData(MethodStages.Answer)]
    [InlineData(MethodStages.Exemplars)]
    [InlineData(MethodStages.Judge)]
    public async Task Every_call_is_tagged_with_its_stage(string stage)
    {
        var client = new CallbackChatClient((_, _) => stage switch
        {
            MethodStages.Environments => "[\"Farm\"]",
            MethodStages.Questions => "[\"A?\"]",
            MethodStages.Exemplars => Exemplars(1),
            MethodStages.Judge => "Therefore, the final score is 4",
            _ => "An answer.",
        });
        var method = Method();
        _ = stage switch
        {
            MethodStages.Environments => (object)await method.SelectEnvironmentsAsync(client, Persona),
            MethodStages.Questions => await method.GenerateQuestionsAsync(client, Persona, PersonaTask.ExpectedAction, ["Farm"], 1),
            MethodStages.Exemplars => await method.WriteExemplarsAsync(client, Persona, PersonaTask.ExpectedAction, ["Q?"]),
            MethodStages.Judge => await method.JudgeBatchAsync(client, Persona, PersonaTask.ExpectedAction, [new JudgeItem("Q?", "A.", SomeExemplars("Q?"))]),
            _ => await method.AnswerAsync(client, Persona, "Q?"),
        };
        Assert.Equal(stage, client.Calls[0].Options!.AdditionalProperties![MethodStages.PropertyKey]);
    }

    [Fact]
    public async Task Exemplars_and_judging_run_at_temperature_zero()
    {
        var exemplarWriter = CallbackChatClient.Sequence(Exemplars(1));
        var judge = CallbackChatClient.Sequence("Therefore, the final score is 4");
        var method = Method();
        await method.WriteExemplarsAsync(exemplarWriter, Persona, PersonaTask.LinguisticHabits, ["Q?"]);
        await method.JudgeBatchAsync(judge, Persona, PersonaTask.LinguisticHabits, [new JudgeItem("Q?", "A.", SomeExemplars("Q?"))]);
        Assert.Equal(0f, exemplarWriter.Calls[0].Options!.Temperature);
        Assert.Equal(0f, judge.Calls[0].Options!.Temperature);
    }

    [Fact]
    public async Task Exemplars_are_re_asked_while_a_question_lacks_a_score()
    {
        var client = CallbackChatClient.Sequence("### Question 1\nScore 1: a\n### Question 2\nScore 1: b", Exemplars(2));
        var result = await Method().WriteExemplarsAsync(client, Persona, PersonaTask.ExpectedAction, ["Q1?", "Q2?"]);
        Assert.Equal(2, result.Attempts);
        Assert.Equal("Q2?", result.Value[1].Question);
        Assert.Equal("example 2-5", result.Value[1].AnswerByScore[5]);
        Assert.Contains("question 1: no example answer for score 2, 3, 4, 5", result.Rejected[0].Reason);
    }

    [Fact]
    public async Task Judge_prompt_shows_each_answer_with_its_five_exemplars_as_text()
    {
        var judge = CallbackChatClient.Sequence("Therefore, the final score is 4");
        await Method().JudgeBatchAsync(judge, Persona, PersonaTask.PersonaConsistency,
            [new JudgeItem("Where do you live?", "In a cottage near Hereford.", SomeExemplars("Where do you live?"))]);
        Assert.Equal([ChatRole.System, ChatRole.User], judge.Calls[0].Messages.Select(m => m.Role));
        Assert.Contains("critical", judge.Calls[0].Messages[0].Text);
        var prompt = judge.Calls[0].Messages[1].Text;
        Assert.Contains("WHAT THE TASK MEASURES", prompt);
        Assert.Contains("### Item 1\nQuestion: Where do you live?\nAnswer:\nIn a cottage near Hereford.", prompt);
        Assert.Contains("Score 5: example 5", prompt);
        Assert.Contains("Number of items: 1", prompt);
    }

    [Fact]
    public async Task Judge_keeps_parsed_items_and_marks_the_missing_ones_as_failures_after_asking_again()
    {
        var judge = CallbackChatClient.Sequence("### Item 1\nGood. Therefore, the final score is 5");
        var items = Enumerable.Range(1, 3).Select(i => new JudgeItem($"Q{i}?", "A.", SomeExemplars($"Q{i}?"))).ToList();
        var result = await Method().JudgeBatchAsync(judge, Persona, PersonaTask.ExpectedAction, items);

        Assert.Equal(3, result.Attempts);
        Assert.Equal([5, null, null], result.Value.Select(v => v.Score));
        Assert.All(result.Value.Skip(1), v => Assert.NotNull(v.Failure));
    }

    [Fact]
    public async Task A_follow_up_asks_for_exactly_the_items_without_a_score_and_fills_only_those()
    {
        var judge = CallbackChatClient.Sequence(
            "### Item 1\nApt. Therefore, the final score is 4\n### Item 2\nHmm.\n### Item 3\nTherefore, the final score is 3\n" +
            "### Item 5\nTherefore, the final score is 5",
            "### Item 2\nGeneric. Therefore, the final score is 2\n### Item 4\nWeak. Therefore, the final score is 1\n### Item 1\nTherefore, the final score is 1");
        var items = Enumerable.Range(1, 5).Select(i => new JudgeItem($"Q{i}?", "A.", SomeExemplars($"Q{i}?"))).ToList();
        var result = await Method().JudgeBatchAsync(judge, Persona, PersonaTask.ExpectedAction, items);

        Assert.Equal(2, judge.Calls.Count);
        var followUp = judge.Calls[1].Messages[^1].Text;
        Assert.Contains("items 2 and 4", followUp);
        Assert.Contains("item 2: no final score", followUp);
        Assert.Contains("item 4: no verdict for item 4", followUp);
        // Item 1 keeps its first verdict: the follow-up fills gaps only.
        Assert.Equal([4, 2, 3, 1, 5], result.Value.Select(v => v.Score));
        Assert.Equal(2, result.Attempts);
    }

    [Fact]
    public async Task Exemplars_missing_for_some_questions_are_asked_for_those_only()
    {
        var first = "### Question 1\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: first {s}.")) +
                    "\n### Question 2\nScore 1: only one level.\n### Question 3\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: third {s}."));
        var second = "### Question 2\n" + string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: second {s}."));
        var writer = CallbackChatClient.Sequence(first, second);

        var result = await Method().WriteExemplarsAsync(writer, Persona, PersonaTask.ExpectedAction, ["Q1?", "Q2?", "Q3?"]);

        Assert.Equal(2, writer.Calls.Count);
        Assert.Contains("question 2: no example answer for score 2, 3, 4, 5", writer.Calls[1].Messages[^1].Text);
        Assert.DoesNotContain("question 1", writer.Calls[1].Messages[^1].Text);
        Assert.Equal(["first 1.", "second 1.", "third 1."], result.Value.Select(e => e.AnswerByScore[1]));
        Assert.Equal("Q2?", result.Value[1].Question);
    }

    [Fact]
    public async Task A_reply_cut_at_the_output_limit_is_never_read_and_is_asked_again()
    {
        var judge = CallbackChatClient.Sequence("### Item 1\nTherefore, the final score is 1", "### Item 1\nTherefore, the final score is 4");
        judge.FinishReasonOf = call => call == 0 ? ChatFinishReason.Length : ChatFinishReason.Stop;
        var result = await Method().JudgeBatchAsync(judge, Persona, PersonaTask.ExpectedAction, [new JudgeItem("Q?", "A.", SomeExemplars("Q?"))]);
        Assert.Equal(4, result.Value[0].Score);
        Assert.Equal(2, judge.Calls.Count);
        Assert.All(judge.Calls, c => Assert.Equal(4000, c.Options!.MaxOutputTokens));
        Assert.Contains("cut at the output limit", judge.Calls[1].Messages[^1].Text);
    }

    [Fact]
    public async Task Judge_re_asks_while_no_item_parses_then_fails_with_every_rejected_output()
    {
        var judge = CallbackChatClient.Sequence("I'm sorry, I cannot grade this.");
        var error = await Assert.ThrowsAsync<StageFailedException>(() => Method(o => o.MaxParseAttempts = 2).JudgeBatchAsync(
            judge, Persona, PersonaTask.ToxicityControl, [new JudgeItem("Q?", "A.", SomeExemplars("Q?"))]));
        Assert.Equal(2, error.Rejected.Count);
        Assert.Contains("declined", error.Rejected[0].Reason);
        Assert.Equal(30, error.Usage!.TotalTokenCount);
    }

    [Fact]
    public async Task Usage_is_summed_over_attempts()
    {
        var client = CallbackChatClient.Sequence("nothing", "[\"Farm\"]");
        var result = await Method().SelectEnvironmentsAsync(client, Persona);
        Assert.Equal(30, result.Usage!.TotalTokenCount);
    }

    [Fact]
    public async Task A_batch_larger_than_the_largest_batch_size_is_refused()
    {
        var questions = Enumerable.Range(1, MethodOptions.MaxBatchSize + 1).Select(i => $"{i}").ToList();
        var client = CallbackChatClient.Sequence(Exemplars(questions.Count));
        await Assert.ThrowsAsync<ArgumentException>(() =>
            Method().WriteExemplarsAsync(client, Persona, PersonaTask.ExpectedAction, questions));
        Assert.Empty(client.Calls);
    }

    [Fact]
    public void Batch_splits_into_chunks_of_the_batch_size_in_order()
    {
        var batches = Method(o => o.BatchSize = 5).Batch(Enumerable.Range(1, 12).ToList());
        Assert.Equal([5, 5, 2], batches.Select(b => b.Count));
        Assert.Equal(11, batches[2][0]);
    }
}
