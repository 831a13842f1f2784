using Microsoft.Extensions.AI;
using PersonaGym.Core.Offline;

namespace PersonaGym.Core.Tests;

public class OfflineChatClientTests
{
    private const string Persona = "A retired firefighter from Boston who coaches youth baseball and restores old motorcycles";
    private static readonly PersonaGymMethod Method = new(MethodAssets.LoadDefault(), new MethodOptions());

    [Fact]
    public async Task Every_stage_parses_on_the_first_attempt_for_one_persona()
    {
        var model = new OfflineChatClient("offline-a");
        var environments = await Method.SelectEnvironmentsAsync(model, Persona);
        Assert.Equal(1, environments.Attempts);
        Assert.InRange(environments.Value.Count, 1, 10);
        Assert.Empty(environments.Rejected);

        foreach (var task in PersonaTasks.All)
        {
            var questions = await Method.GenerateQuestionsAsync(model, Persona, task, environments.Value, 10);
            Assert.Equal(1, questions.Attempts);
            Assert.All(questions.Value, q => Assert.Contains(environments.Value, e => q.Contains(e, StringComparison.Ordinal)));

            foreach (var batch in Method.Batch(questions.Value))
            {
                var answers = new List<string>();
                foreach (var question in batch) answers.Add((await Method.AnswerAsync(model, Persona, question)).Value);
                var exemplars = await Method.WriteExemplarsAsync(model, Persona, task, batch);
                Assert.Equal(1, exemplars.Attempts);
                var items = batch.Select((q, i) => new JudgeItem(q, answers[i], exemplars.Value[i])).ToList();
                var verdicts = await Method.JudgeBatchAsync(model, Persona, task, items);
                Assert.Equal(1, verdicts.Attempts);
                Assert.All(verdicts.Value, v => Assert.InRange(v.Score!.Value, 1, 5));
                Assert.All(verdicts.Value, v => Assert.EndsWith($"Therefore, the final score is {v.Score}", v.Reasoning));
            }
        }
    }

    [Fact]
    public async Task A_re_ask_of_any_stage_gets_the_reply_of_its_original_request()
    {
        // Each stage's first reply is lost on the way (an empty completion), so the method re-asks or follows up in
        // the same conversation; the offline model answers the original request again, and every stage ends as it
        // would have without the loss.
        var direct = new OfflineChatClient("offline-a");
        var lossy = new FirstReplyLost(direct);
        var environments = await Method.SelectEnvironmentsAsync(lossy, Persona);
        Assert.Equal((await Method.SelectEnvironmentsAsync(direct, Persona)).Value, environments.Value);
        Assert.Equal(2, environments.Attempts);

        foreach (var task in PersonaTasks.All)
        {
            var questions = await Method.GenerateQuestionsAsync(lossy, Persona, task, environments.Value, 3);
            Assert.Equal((await Method.GenerateQuestionsAsync(direct, Persona, task, environments.Value, 3)).Value, questions.Value);
            Assert.Equal(2, questions.Attempts);

            var answer = await Method.AnswerAsync(lossy, Persona, questions.Value[0]);
            Assert.Equal((await Method.AnswerAsync(direct, Persona, questions.Value[0])).Value, answer.Value);
            Assert.Equal(2, answer.Attempts);

            var exemplars = await Method.WriteExemplarsAsync(lossy, Persona, task, questions.Value);
            var expectedExemplars = await Method.WriteExemplarsAsync(direct, Persona, task, questions.Value);
            Assert.Equal(expectedExemplars.Value.Select(e => e.AnswerByScore.OrderBy(p => p.Key)), exemplars.Value.Select(e => e.AnswerByScore.OrderBy(p => p.Key)));
            Assert.Equal(2, exemplars.Attempts);

            var items = questions.Value.Select((q, i) => new JudgeItem(q, i == 0 ? answer.Value : "An answer.", exemplars.Value[i])).ToList();
            var verdicts = await Method.JudgeBatchAsync(lossy, Persona, task, items);
            Assert.Equal((await Method.JudgeBatchAsync(direct, Persona, task, items)).Value.Select(v => v.Score), verdicts.Value.Select(v => v.Score));
            Assert.Equal(2, verdicts.Attempts);
        }
        Assert.Equal(lossy.Lost, lossy.Calls / 2);
    }

    [Fact]
    public async Task A_conversation_that_goes_on_after_a_reply_is_answered_at_its_last_question()
    {
        var model = new OfflineChatClient("m");
        var reply = await model.GetResponseAsync(
        [
            new ChatMessage(ChatRole.System, Method.RenderPersonaSystem(Persona)),
            new ChatMessage(ChatRole.User, "What do you do on Sundays?"),
            new ChatMessage(ChatRole.Assistant, "I ride out to the coast."),
            new ChatMessage(ChatRole.User, "And on Mondays?"),
        ]);
        Assert.Contains("And on Mondays", reply.Text);
    }

    /// <summary>Loses the first reply of every conversation (an empty completion), then passes the re-ask on.</summary>
    private sealed class FirstReplyLost(IChatClient inner) : DelegatingChatClient(inner)
    {
        public int Calls { get; private set; }

        public int Lost { get; private set; }

        public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var list = messages.ToList();
            Calls++;
            if (list.Any(m => m.Role == ChatRole.Assistant)) return base.GetResponseAsync(list, options, cancellationToken);
            Lost++;
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "")) { FinishReason = ChatFinishReason.Stop });
        }
    }

    [Fact]
    public async Task The_same_messages_give_the_same_reply()
    {
        var prompt = Method.RenderSelectEnvironments(Persona);
        var first = await new OfflineChatClient("m").GetResponseAsync(prompt);
        var second = await new OfflineChatClient("m").GetResponseAsync(prompt);
        Assert.Equal(first.Text, second.Text);
    }

    [Fact]
    public async Task Answers_stay_in_character_and_ignore_the_stage_tag()
    {
        var model = new OfflineChatClient("m");
        var untagged = await model.GetResponseAsync(
            [new ChatMessage(ChatRole.System, Method.RenderPersonaSystem(Persona)), new ChatMessage(ChatRole.User, "What do you do on Sundays?")]);
        var tagged = await Method.AnswerAsync(model, Persona, "What do you do on Sundays?");
        Assert.Contains("retired firefighter", untagged.Text);
        Assert.Equal(untagged.Text.Trim(), tagged.Value);
    }

    [Fact]
    public async Task Judge_scores_vary_across_personas_and_models_and_stay_mostly_between_3_and_5()
    {
        var scores = new List<int>();
        var perKey = new HashSet<double>();
        foreach (var model in new[] { "judge-a", "judge-b", "judge-c" })
        {
            for (var p = 0; p < 8; p++)
            {
                var persona = $"Persona number {p}, a {20 + p * 5}-year-old";
                var items = Enumerable.Range(1, 5).Select(i => new JudgeItem($"Q{i}?", $"A{i}.", new RubricExemplars($"Q{i}?",
                    Enumerable.Range(1, 5).ToDictionary(s => s, s => $"e{s}")))).ToList();
                var verdicts = await Method.JudgeBatchAsync(new OfflineChatClient(model), persona, PersonaTask.ExpectedAction, items);
                var batch = verdicts.Value.Select(v => v.Score!.Value).ToList();
                scores.AddRange(batch);
                perKey.Add(batch.Average());
            }
        }
        Assert.All(scores, s => Assert.InRange(s, 1, 5));
        Assert.True(perKey.Count > 3, "batch means should differ between personas and models");
        Assert.True(scores.Count(s => s >= 3) >= scores.Count * 0.85, "most scores should be 3 to 5");
    }

    [Fact]
    public async Task Reports_plausible_token_usage()
    {
        var response = await new OfflineChatClient("m").GetResponseAsync("Hello there, how are you today?");
        Assert.Equal(7, response.Usage!.InputTokenCount);
        Assert.True(response.Usage.OutputTokenCount > 0);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        Assert.Contains(OfflineChatClient.Disclaimer, response.Text);
    }

    [Fact]
    public async Task Streaming_yields_the_same_text_as_a_single_update()
    {
        var model = new OfflineChatClient("m");
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in model.GetStreamingResponseAsync("Hello")) updates.Add(update);
        Assert.Equal((await model.GetResponseAsync("Hello")).Text, Assert.Single(updates).Text);
    }

    [Fact]
    public void Describes_itself_as_the_offline_provider()
    {
        var metadata = new OfflineChatClient("tiny").GetService<ChatClientMetadata>();
        Assert.Equal("offline", metadata!.ProviderName);
        Assert.Equal("tiny", metadata.DefaultModelId);
    }
}
