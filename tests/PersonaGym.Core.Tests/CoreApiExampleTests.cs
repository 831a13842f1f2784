using Microsoft.Extensions.AI;
using PersonaGym.Core.Offline;

namespace PersonaGym.Core.Tests;

/// <summary>The example of docs/core-api.md, run as written (scores averaged here by the paper's rules).</summary>
public class CoreApiExampleTests
{
    private sealed record Judgement(PersonaTask Task, int BatchIndex, string Judge, int ItemIndex, int? Score);

    [Fact]
    public async Task The_documented_example_evaluates_one_persona_with_the_offline_provider()
    {
        var persona = "A 61-year-old widower from rural England, tending to his garden and raising prize-winning roses";
        var method = new PersonaGymMethod(MethodAssets.LoadDefault(), new MethodOptions { QuestionsPerTask = 10 });

        IChatClient generator = new OfflineChatClient("generator");
        IChatClient agent = new OfflineChatClient("agent");
        IChatClient[] judges = [new OfflineChatClient("judge-1"), new OfflineChatClient("judge-2")];

        var environments = await method.SelectEnvironmentsAsync(generator, persona);
        var scores = new List<Judgement>();

        foreach (var task in PersonaTasks.All)
        {
            var questions = await method.GenerateQuestionsAsync(
                generator, persona, task, environments.Value, method.Options.QuestionsPerTask);

            var batches = method.Batch(questions.Value);
            for (var b = 0; b < batches.Count; b++)
            {
                var answers = new List<string>();
                foreach (var question in batches[b])
                    answers.Add((await method.AnswerAsync(agent, persona, question)).Value);

                var exemplars = await method.WriteExemplarsAsync(generator, persona, task, batches[b]);
                var items = batches[b].Select((q, i) => new JudgeItem(q, answers[i], exemplars.Value[i])).ToList();

                foreach (var judge in judges)
                {
                    var verdicts = await method.JudgeBatchAsync(judge, persona, task, items);
                    var judgeName = judge.GetService<ChatClientMetadata>()?.DefaultModelId ?? "judge";
                    scores.AddRange(verdicts.Value.Select(v => new Judgement(task, b, judgeName, v.ItemIndex, v.Score)));
                }
            }
        }

        // Paper §4: mean per judge and batch (unparsed excluded), mean over judges, mean over batches, mean over tasks.
        var taskScores = scores.GroupBy(s => s.Task).Select(task => task
            .GroupBy(s => s.BatchIndex)
            .Select(batch => batch.GroupBy(s => s.Judge).Select(j => j.Where(s => s.Score is not null).Average(s => s.Score!.Value)).Average())
            .Average()).ToList();
        var personaScore = taskScores.Average();

        Assert.Equal(5 * 2 * 2 * 5, scores.Count);
        Assert.Equal(5, taskScores.Count);
        Assert.InRange(personaScore, 1.0, 5.0);
        Assert.Contains("PersonaScoring.Compute(scores)", await File.ReadAllTextAsync(DocPath()));
    }

    private static string DocPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "core-api.md");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("docs/core-api.md not found above the test output folder");
    }
}
