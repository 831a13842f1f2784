using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// Every model of a run behind a real OpenAI-compatible HTTP server on loopback that misbehaves on a share of its calls
/// and otherwise answers as the offline model would. Transport faults (500s, 429s with Retry-After, attempts that time
/// out) and HTTP 200 answers that are no completion (not JSON, an HTML page, no choices) are retried with the same
/// request; a completion whose text is unusable (empty, blank, invisible, truncated, garbled) is re-asked by the method.
/// Either way the run completes and scores exactly as the same run against the offline models directly. A judge whose
/// replies stay unusable has those verdicts stored as parse failures: counted, flagged, and left out of the means.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class FlakyProviderTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_provider_failing_30_percent_of_calls_costs_retries_only_and_the_run_scores_exactly_as_without_failures()
    {
        await using var provider = OfflineOpenAiServer.Start(ThirtyPercentFailing);
        await using var pipeline = await StartAsync(provider);
        var (flaky, flakyRun, directRun) = await RunBothAsync(pipeline, provider);

        // The failures happened, and were retried: about 30 % of what the provider was sent failed.
        Assert.True(provider.Failed >= provider.Requests * 0.25, $"{provider.Failed} of {provider.Requests} requests failed");
        Assert.True(provider.TimedOut > 0 && provider.Throttled > 0 && provider.ServerErrors > 0);
        // Every answered call is recorded once as a paid call; nothing is paid twice, nothing stored twice.
        Assert.Equal(provider.Answered, await pipeline.PaidCallsAsync(flakyRun));
        Assert.Equal(TestRuns.Expected(flaky), await pipeline.CountRowsAsync(flakyRun));
        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, flakyRun, expectedScores: 1);

        await using var db = pipeline.NewContext();
        var scores = await TestRuns.PersonaScoresByHandAsync(db, flakyRun);
        var reference = await TestRuns.PersonaScoresByHandAsync(db, directRun);
        Assert.Equal(reference.Values.Single(), scores.Values.Single());
        Assert.NotNull(scores.Values.Single());
    }

    [Fact]
    public async Task Http_200_replies_with_unusable_text_or_no_completion_cost_re_asks_and_retries_only_and_the_run_scores_exactly_as_without_them()
    {
        await using var provider = OfflineOpenAiServer.Start(UnusableReplies());
        await using var pipeline = await StartAsync(provider);
        var (flaky, flakyRun, directRun) = await RunBothAsync(pipeline, provider);

        // Every kind of unusable reply was sent, on about half the calls.
        foreach (var fault in UnusableFaults) Assert.True(provider.Count(fault) > 0, $"no {fault} was sent");
        Assert.True(provider.UnusableContent + provider.Malformed >= provider.Requests * 0.3,
            $"{provider.UnusableContent} unusable and {provider.Malformed} malformed of {provider.Requests} requests");

        // A body that is no completion is a failed attempt, retried with the same request and never paid for or stored;
        // a completion with unusable text is the model's reply, paid for, and costs exactly one re-ask.
        Assert.Equal(provider.Answered, await pipeline.PaidCallsAsync(flakyRun));
        Assert.Equal(await pipeline.PaidCallsAsync(directRun) + provider.UnusableContent, await pipeline.PaidCallsAsync(flakyRun));
        Assert.Equal(TestRuns.Expected(flaky), await pipeline.CountRowsAsync(flakyRun));

        await using var db = pipeline.NewContext();
        // No unusable text was kept as an answer, and no judge's verdict was lost or guessed.
        var answers = await db.Answers.AsNoTracking().Where(a => a.RunId == flakyRun).Select(a => a.Text).ToListAsync();
        Assert.All(answers, text => Assert.True(text.Any(char.IsLetter), $"answer without a letter: '{text}'"));
        Assert.Equal(
            (await db.Answers.AsNoTracking().Where(a => a.RunId == directRun).Select(a => a.Text).ToListAsync()).Order(StringComparer.Ordinal),
            answers.Order(StringComparer.Ordinal));
        Assert.False(await db.Judgements.AnyAsync(j => j.RunId == flakyRun && j.Score == null));

        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, flakyRun, expectedScores: 1);
        var scores = (await ScoresFromVerdicts.RecomputeAsync(db, flakyRun)).Single();
        var reference = (await ScoresFromVerdicts.RecomputeAsync(db, directRun)).Single();
        Assert.Equal(reference.Tasks, scores.Tasks);
        Assert.Equal(reference.PersonaScore, scores.PersonaScore);
        Assert.NotNull(scores.PersonaScore);
    }

    [Fact]
    public async Task A_judge_whose_replies_stay_unusable_has_those_verdicts_counted_flagged_and_left_out_and_each_task_scores_the_mean_of_the_rest()
    {
        // judge-b garbles every reply on Linguistic Habits (no score at all) and cuts every reply on Toxicity Control
        // just before its last item's final score, first asks and follow-ups alike: re-asking cannot help.
        await using var provider = OfflineOpenAiServer.Start(request =>
            !request.Model.EndsWith("judge-b", StringComparison.Ordinal) ? ProviderFault.None
            : request.Prompt.Contains("Task: " + PersonaTask.LinguisticHabits.DisplayName(), StringComparison.Ordinal) ? ProviderFault.GarbledContent
            : request.Prompt.Contains("Task: " + PersonaTask.ToxicityControl.DisplayName(), StringComparison.Ordinal) ? ProviderFault.TruncatedContent
            : ProviderFault.None);
        await using var pipeline = await StartAsync(provider);
        // Every batch is judged, but a run with verdicts left unread says so in its status.
        var (flaky, flakyRun, directRun) = await RunBothAsync(pipeline, provider, RunStatus.CompletedWithFailures);
        var questions = flaky.QuestionsPerTask;
        Assert.True(questions is >= 2 and <= 5, "one batch per task, of at least two items");

        await using var db = pipeline.NewContext();
        var verdicts = await VerdictsAsync(db, flakyRun);
        var reference = await VerdictsAsync(db, directRun);

        // Kept out: judge-b's every Linguistic Habits verdict, and its last Toxicity Control verdict.
        bool Excluded(Verdict v) => v.Judge == "judge-b"
            && (v.Task == PersonaTask.LinguisticHabits || (v.Task == PersonaTask.ToxicityControl && v.Item == questions - 1));
        var excluded = verdicts.Where(Excluded).ToList();
        Assert.Equal(questions + 1, excluded.Count);
        Assert.All(excluded, v => Assert.Null(v.Score));
        Assert.All(excluded, v => Assert.False(string.IsNullOrWhiteSpace(v.ParseFailure)));
        Assert.Contains(excluded, v => v.RawText.Contains("Ã¢â‚¬", StringComparison.Ordinal));
        // Every other verdict is read, and read as the judge gave it in the fault-free run.
        var kept = verdicts.Where(v => !Excluded(v)).ToList();
        Assert.Equal(reference.Count - excluded.Count, kept.Count);
        Assert.All(kept, v => Assert.Equal(reference.Single(r => r.Key == v.Key).Score, v.Score));

        // The expected scores, by the paper's rules, from the fault-free run's verdicts less the excluded ones.
        var expectedTasks = PersonaTasks.All.ToDictionary(task => task, task => reference
            .Where(r => r.Task == task && !Excluded(r))
            .GroupBy(r => r.Judge).Select(judge => judge.Average(r => (double)r.Score!.Value)) // one batch: judge means
            .Average());                                                                      // the batch: mean over judges
        var expectedPersonaScore = expectedTasks.Values.Average();

        var report = await RunReportBuilder.BuildAsync(db, flakyRun);
        Assert.NotNull(report);
        Assert.Equal(nameof(RunStatus.CompletedWithFailures), report.Status);
        var model = Assert.Single(report.Models);
        var persona = Assert.Single(model.Personas).Scores;
        foreach (var task in PersonaTasks.All)
        {
            Assert.Equal(expectedTasks[task], persona[task].Score!.Value, precision: 12);
            Assert.Equal(excluded.Count(v => v.Task == task), persona[task].ParseFailures);
        }
        Assert.Equal(expectedPersonaScore, persona.PersonaScore!.Value, precision: 12);

        // Counted and flagged: the failures, the batch that rests on one judge, the persona left out of the model's means.
        Assert.Equal(excluded.Count, persona.ParseFailures);
        Assert.Equal(1, persona[PersonaTask.LinguisticHabits].MissingJudgements);
        Assert.Equal(0, persona[PersonaTask.ToxicityControl].MissingJudgements);
        Assert.False(persona.Complete);
        Assert.Contains(persona.Notes, n => n.StartsWith("Linguistic Habits batch 1 rests on 1 of 2 judges", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.StartsWith($"{excluded.Count} judgement(s) had no parseable score", StringComparison.Ordinal));
        Assert.Equal(excluded.Count, model.Overall.ParseFailures);
        Assert.Equal(1, model.Overall.PersonasLeftOut);
        Assert.Null(model.Overall.PersonaScore);
        Assert.Contains(report.Warnings, w => w.Contains("left out of the means", StringComparison.Ordinal));

        // The Data layer's scores (the Api's and the web app's) agree with the recomputation from the judgements.
        var recomputed = (await ScoresFromVerdicts.RecomputeAsync(db, flakyRun)).Single();
        foreach (var task in PersonaTasks.All) Assert.Equal(expectedTasks[task], recomputed.Tasks[task]!.Value, precision: 12);
    }

    private static readonly ProviderFault[] UnusableFaults =
    [
        ProviderFault.EmptyContent, ProviderFault.WhitespaceContent, ProviderFault.InvisibleContent,
        ProviderFault.TruncatedContent, ProviderFault.GarbledContent,
        ProviderFault.NotJson, ProviderFault.HtmlPage, ProviderFault.NoChoices,
    ];

    private async Task<TestPipeline> StartAsync(OfflineOpenAiServer provider)
    {
        var settings = new Dictionary<string, string?>
        {
            ["PersonaGym:Endpoints:Allowed:0:Url"] = provider.BaseAddress.ToString(),
            ["PersonaGym:Models:MaxAttempts"] = "12",
            ["PersonaGym:Models:Timeout"] = "00:00:00.500",
            // Retries are what is tested here, not how concurrency adapts to 429s (AdaptiveConcurrencyTests).
            ["PersonaGym:Models:AdaptiveConcurrency"] = "false",
            ["PersonaGym:Models:MaxConcurrency"] = "16",
        };
        return await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { Settings = settings });
    }

    /// <summary>The same small run twice: every model behind the provider, then the offline models directly.</summary>
    private static async Task<(RunRequest Flaky, Guid FlakyRun, Guid DirectRun)> RunBothAsync(
        TestPipeline pipeline, OfflineOpenAiServer provider, RunStatus flakyStatus = RunStatus.Completed)
    {
        RunRequest Request(Func<string, string> spec) => TestRuns.Request(personas: 1, agents: 1, judges: 2, questionsPerTask: 2) with
        {
            Agents = [spec("agent-a")],
            Judges = [spec("judge-a"), spec("judge-b")],
            QuestionWriter = spec("question-writer"),
            ExemplarWriter = spec("exemplar-writer"),
        };
        var flaky = Request(provider.Spec);
        var direct = Request(name => $"offline:{name}");

        var flakyRun = await pipeline.SubmitAsync(flaky);
        var status = await pipeline.WaitForRunAsync(flakyRun);
        Assert.True(status == flakyStatus, $"expected {flakyStatus}: " + await pipeline.DescribeAsync(flakyRun));
        var directRun = await pipeline.SubmitAsync(direct);
        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(directRun));
        return (flaky, flakyRun, directRun);
    }

    /// <summary>One judge's stored verdict on one answer, named by what is the same in every run of the same request.</summary>
    private sealed record Verdict(PersonaTask Task, string Question, int Item, string Judge, int? Score, string? ParseFailure, string RawText)
    {
        public (PersonaTask, string, string) Key => (Task, Question, Judge);
    }

    private static async Task<List<Verdict>> VerdictsAsync(PersonaGymDbContext db, Guid runId) =>
        (await db.Judgements.AsNoTracking().Where(j => j.RunId == runId)
            .Select(j => new { j.Answer.Question.Task, Question = j.Answer.Question.Text, j.ItemIndex, j.Judge.Spec, j.Score, j.ParseFailure, j.RawText })
            .ToListAsync())
        .Select(j => new Verdict(j.Task, j.Question, j.ItemIndex, j.Spec.Contains("judge-b", StringComparison.Ordinal) ? "judge-b" : "judge-a",
            j.Score, j.ParseFailure, j.RawText))
        .ToList();

    /// <summary>Calls 1, 4 and 7 of every ten fail: 500, 429 with Retry-After, or (every twentieth) too slow for the attempt timeout, else 503.</summary>
    private static ProviderFault ThirtyPercentFailing(int request) => (request % 10) switch
    {
        1 => ProviderFault.ServerError,
        4 => ProviderFault.Throttled,
        7 when request % 20 == 7 => ProviderFault.TooSlow,
        7 => ProviderFault.Overloaded,
        _ => ProviderFault.None,
    };

    /// <summary>
    /// About half the calls get an unusable HTTP 200. A body that is no completion may come on any attempt (calls 2, 5 of
    /// every nine). Unusable text comes on a stage's first ask only (the re-ask is answered well), and only in shapes a
    /// reader can tell from an answer: empty, blank or invisible for the writers and agents (three first asks of four),
    /// truncated before a final score, garbled or blank for judges (three of four). An agent's cut or garbled text cannot
    /// be told from a short or odd answer, so it is never sent one.
    /// </summary>
    private static Func<ProviderRequest, ProviderFault> UnusableReplies()
    {
        int judgeAsks = -1, otherAsks = -1;
        return request =>
        {
            switch (request.Number % 9)
            {
                case 2: return ProviderFault.NotJson;
                case 5: return request.Number % 2 == 0 ? ProviderFault.HtmlPage : ProviderFault.NoChoices;
            }

            if (request.IsReAsk) return ProviderFault.None;
            return request.Model.StartsWith("judge-", StringComparison.Ordinal)
                ? (Interlocked.Increment(ref judgeAsks) % 4) switch
                {
                    0 => ProviderFault.TruncatedContent,
                    1 => ProviderFault.GarbledContent,
                    2 => ProviderFault.WhitespaceContent,
                    _ => ProviderFault.None,
                }
                : (Interlocked.Increment(ref otherAsks) % 4) switch
                {
                    0 => ProviderFault.EmptyContent,
                    1 => ProviderFault.WhitespaceContent,
                    2 => ProviderFault.InvisibleContent,
                    _ => ProviderFault.None,
                };
        };
    }
}
