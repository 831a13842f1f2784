using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using PersonaGym.Core.Offline;
using PersonaGym.Core.Scoring;

namespace PersonaGym.Core.Tests;

/// <summary>
/// The README's Core API example, run as written: the code between the markers below must appear verbatim
/// (white space aside) in README.md's example block, so the documented example cannot drift from one that works.
/// </summary>
public class CoreApiExampleTests
{
    [Fact]
    public async Task The_readme_example_evaluates_one_persona_with_the_offline_provider()
    {
        // README-EXAMPLE-BEGIN
        var persona = "A 61-year-old widower from rural England, tending to his garden and raising prize-winning roses";
        var method = new PersonaGymMethod(MethodAssets.LoadDefault(), new MethodOptions { QuestionsPerTask = 10 });

        IChatClient generator = new OfflineChatClient("generator"); // environments, questions, exemplars
        IChatClient agent = new OfflineChatClient("agent");         // the persona agent under test
        IChatClient[] judges = [new OfflineChatClient("judge-1"), new OfflineChatClient("judge-2")];

        var environments = await method.SelectEnvironmentsAsync(generator, persona);
        var scores = new List<JudgementScore>();

        foreach (var task in PersonaTasks.All)
        {
            var questions = await method.GenerateQuestionsAsync(
                generator, persona, task, environments.Value, method.Options.QuestionsPerTask);

            var batches = method.Batch(questions.Value); // 5 questions per exemplar and judge call
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
                    // A verdict without a score stays null: excluded from means, reported as a parse failure.
                    scores.AddRange(verdicts.Value.Select(v => new JudgementScore(task, b, judgeName, v.ItemIndex, v.Score)));
                }
            }
        }

        var report = PersonaScoring.Compute(scores);
        Console.WriteLine($"PersonaScore: {report.PersonaScore:F2} ({OfflineChatClient.Disclaimer})");
        // README-EXAMPLE-END

        // 5 tasks × 2 batches × 2 judges × 5 items, every one parsed by the offline judges.
        Assert.Equal(100, scores.Count);
        Assert.Equal(0, report.ParseFailures);

        // Recomputed by the paper's rules: judge mean per batch, mean over judges, over batches, over tasks.
        var expected = scores.GroupBy(s => s.Task).Select(t => t
                .GroupBy(s => s.BatchIndex)
                .Select(batch => batch.GroupBy(s => s.Judge).Select(j => j.Average(s => s.Score!.Value)).Average())
                .Average())
            .Average();
        Assert.NotNull(report.PersonaScore);
        Assert.Equal(expected, report.PersonaScore!.Value, precision: 10);

        var readme = Normalize(ExtractReadmeExample(await File.ReadAllTextAsync(FindUp("README.md"))));
        var source = await File.ReadAllTextAsync(FindUp(Path.Combine("tests", "PersonaGym.Core.Tests", "CoreApiExampleTests.cs")));
        var between = Regex.Match(source, @"// README-EXAMPLE-BEGIN\r?\n(.*?)// README-EXAMPLE-END", RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains(Normalize(between), readme);
    }

    private static string ExtractReadmeExample(string readme)
    {
        var match = Regex.Match(readme, @"<!-- core-api-example -->\s*```csharp\r?\n(.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, "README.md has no ```csharp block after <!-- core-api-example -->");
        return match.Groups[1].Value;
    }

    private static string Normalize(string code) => Regex.Replace(code, @"\s+", " ").Trim();

    private static string FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }

        throw new FileNotFoundException($"{relative} not found above the test output folder");
    }
}
