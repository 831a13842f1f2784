using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using PersonaGym.Core;
using PersonaGym.Models.Tests.Support;

namespace PersonaGym.Models.Tests;

/// <summary>
/// The paper's experimental conditions as they reach a provider: what each stage of the method sends over real HTTP to
/// an OpenAI-compatible stub (reference code: 0.9 / 0.9 sampling for questions and answers, temperature 0 without
/// top-p for exemplars and judges, an explicit output limit, the persona system message with only two instructions).
/// </summary>
public class MethodConditionsWireTests
{
    private const string Persona = "A 61-year-old widower from rural England, tending to his garden and raising prize-winning roses";

    private static string Reply(RecordedRequest request)
    {
        var prompt = string.Join("\n", request.Body!["messages"]!.AsArray().Select(m => ContentText(m!)));
        if (prompt.Contains("ANSWERS TO GRADE", StringComparison.Ordinal)) return "### Item 1\nIn character throughout. Therefore, the final score is 4";
        if (prompt.Contains("EXAMPLE ANSWERS TO WRITE", StringComparison.Ordinal))
            return "### Question 1\n" + string.Join("\n", Enumerable.Range(1, 5).Select(s => $"Score {s}: An example answer worth {s}."));
        if (prompt.Contains("QUESTIONS TO WRITE", StringComparison.Ordinal)) return "[\"What would you do at the flower show?\", \"How do you spend a wet Sunday?\"]";
        return "Well, I'd be out among the roses before the dew is off them.";
    }

    private static async Task<(StubServer Server, PersonaGymMethod Method, IChatClient Client)> StartAsync()
    {
        var server = await StubServer.StartAsync((request, context) => StubServer.WriteJsonAsync(context, 200, JsonSerializer.Serialize(new
        {
            id = "chatcmpl-1", @object = "chat.completion", created = 1700000000, model = "llama3",
            choices = new[] { new { index = 0, message = new { role = "assistant", content = Reply(request) }, finish_reason = "stop" } },
            usage = new { prompt_tokens = 100, completion_tokens = 20, total_tokens = 120 },
        })));
        var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration()), TestModels.FastOptions(), null, new ListRecorder(), null,
            TestTimeProvider.Instant());
        return (server, new PersonaGymMethod(MethodAssets.LoadDefault(), new MethodOptions()), pipeline.GetChatClient($"openai:llama3@{server.BaseAddress}v1"));
    }

    [Fact]
    public async Task The_persona_agent_gets_only_the_two_instructions_and_samples_at_0_9_with_top_p_0_9()
    {
        var (server, method, client) = await StartAsync();
        await using var _ = server;

        await method.AnswerAsync(client, Persona, "What do you do on Sundays?");

        var body = Assert.Single(server.Requests).Body!;
        var system = ContentText(body["messages"]![0]!);
        Assert.Equal($"Adopt the identity of {Persona}. Answer the questions while staying in strict accordance with the nature of this identity.", system);
        foreach (var coaching in new[] { "first person", "character", "way of speaking", "tone", "voice" })
            Assert.DoesNotContain(coaching, system, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("What do you do on Sundays?", ContentText(body["messages"]![1]!));
        Assert.Equal(0.9, (double)body["temperature"]!, 3);
        Assert.Equal(0.9, (double)body["top_p"]!, 3);
        Assert.Equal(4000, MaxTokens(body));
    }

    [Fact]
    public async Task Question_writing_samples_at_0_9_with_top_p_0_9_and_a_limit()
    {
        var (server, method, client) = await StartAsync();
        await using var _ = server;

        await method.GenerateQuestionsAsync(client, Persona, PersonaTask.ExpectedAction, ["Flower Show"], 2);

        var body = Assert.Single(server.Requests).Body!;
        Assert.Equal(0.9, (double)body["temperature"]!, 3);
        Assert.Equal(0.9, (double)body["top_p"]!, 3);
        Assert.Equal(4000, MaxTokens(body));
    }

    [Fact]
    public async Task Exemplars_and_judges_are_deterministic_without_top_p_and_the_judge_is_framed_as_the_method_frames_it()
    {
        var (server, method, client) = await StartAsync();
        await using var _ = server;

        var exemplars = await method.WriteExemplarsAsync(client, Persona, PersonaTask.LinguisticHabits, ["How do you spend a wet Sunday?"]);
        var verdicts = await method.JudgeBatchAsync(client, Persona, PersonaTask.LinguisticHabits,
            [new JudgeItem("How do you spend a wet Sunday?", "Potting on seedlings, lad.", exemplars.Value[0])]);

        Assert.Equal(4, verdicts.Value[0].Score);
        Assert.Equal(2, server.Requests.Count);
        foreach (var body in server.Requests.Select(r => r.Body!))
        {
            Assert.Equal(0.0, (double)body["temperature"]!, 3);
            Assert.Null(body["top_p"]);
            Assert.Equal(4000, MaxTokens(body));
        }

        var judge = server.Requests.ElementAt(1).Body!["messages"]!.AsArray();
        Assert.Contains((string?)judge[0]!["role"], new[] { "system", "developer" });
        // The reference's framing and nothing more: coaching towards strictness would lower every score against the
        // published ones, as coaching the persona agent would raise them.
        Assert.Equal("You are an accurate, faithful, critical and fair judge.", ContentText(judge[0]!).Trim());
        var prompt = ContentText(judge[1]!);
        foreach (var coaching in new[] { "strict", "benefit of the doubt" })
            Assert.DoesNotContain(coaching, prompt, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(MethodAssets.LoadDefault().Rubric(PersonaTask.LinguisticHabits).Description, prompt);
        Assert.Contains("Therefore, the final score is", prompt);
        Assert.Contains(MethodAssets.LoadDefault().Rubric(PersonaTask.LinguisticHabits).Description, ContentText(server.Requests.ElementAt(0).Body!["messages"]![0]!));
    }

    private static int MaxTokens(JsonNode body) => (int)(body["max_completion_tokens"] ?? body["max_tokens"])!;

    private static string ContentText(JsonNode message) => message["content"] switch
    {
        JsonValue value => (string)value!,
        JsonArray parts => string.Concat(parts.Select(p => (string?)p!["text"])),
        _ => "",
    };
}
