using PersonaGym.Core;

namespace PersonaGym.Data.Tests;

public abstract class QueryTests : DatabaseTest
{
    private async Task<TestRun> StoreRunAsync(string name = "test run", DateTimeOffset? createdAt = null, string persona = "A retired lighthouse keeper from Maine")
    {
        var run = new TestRun(name, createdAt, persona);
        await using var db = NewContext();
        run.AddTo(db);
        await db.SaveChangesAsync();
        return run;
    }

    [Fact]
    public async Task Judgement_scores_project_every_judgement_with_task_batch_judge_and_item()
    {
        var run = await StoreRunAsync();
        await using var db = NewContext();

        var rows = await db.JudgementScoresAsync(run.Run.Id);

        var expected = run.Judgements
            .Select(j => new JudgementScoreRow(j.Answer.Agent.Id, j.Answer.Agent.Spec, run.Persona.Id, j.Answer.Question.Task,
                j.Answer.Question.Batch.BatchIndex, j.Judge.Spec, j.ItemIndex, j.Score))
            .OrderBy(r => r.AgentSpec).ThenBy(r => r.Task).ThenBy(r => r.BatchIndex).ThenBy(r => r.Judge).ThenBy(r => r.ItemIndex)
            .ToList();
        Assert.Equal(expected, rows);
    }

    [Fact]
    public async Task Judgement_scores_keep_parse_failures_as_null_scores()
    {
        var run = await StoreRunAsync();
        await using var db = NewContext();

        var rows = await db.JudgementScoresAsync(run.Run.Id);

        var failures = rows.Where(r => r.Score is null).ToList();
        Assert.Equal(2, failures.Count); // judge Y's last item, once per agent
        Assert.All(failures, r => Assert.Equal(("offline:judge-y", PersonaTask.ToxicityControl, 1), (r.Judge, r.Task, r.ItemIndex)));
    }

    [Fact]
    public async Task Judgement_scores_filter_by_agent_and_persona_and_ignore_other_runs()
    {
        var run = await StoreRunAsync();
        var other = await StoreRunAsync("other run", persona: "A night-shift nurse in Osaka");
        await using var db = NewContext();

        var agentRows = await db.JudgementScoresAsync(run.Run.Id, agentId: run.AgentB.Id);
        var otherPersonaRows = await db.JudgementScoresAsync(run.Run.Id, personaId: other.Persona.Id);

        Assert.Equal(8, agentRows.Count);
        Assert.All(agentRows, r => Assert.Equal(run.AgentB.Id, r.AgentId));
        Assert.Empty(otherPersonaRows);
        Assert.Equal(16, (await db.JudgementScoresAsync(other.Run.Id)).Count);
    }

    [Fact]
    public async Task Judge_items_are_keyed_by_answer_so_judges_of_one_answer_pair_up()
    {
        var run = await StoreRunAsync();
        await using var db = NewContext();

        var items = await db.JudgeItemsAsync(run.Run.Id, run.AgentA.Id);

        Assert.Equal(8, items.Count);
        var pairs = items.GroupBy(i => i.ItemKey).ToList();
        Assert.Equal(4, pairs.Count);
        Assert.All(pairs, pair => Assert.Equal(["offline:judge-x", "offline:judge-y"], pair.Select(i => i.Judge)));
        var firstAnswer = run.Answers.First(a => a.Agent == run.AgentA);
        Assert.Equal(run.ScoreFor(run.AgentA, run.JudgeX, firstAnswer.Question),
            items.Single(i => i.ItemKey == firstAnswer.Id.ToString() && i.Judge == "offline:judge-x").Score);
    }

    [Fact]
    public async Task Run_summary_counts_personas_batches_answers_judgements_and_usage()
    {
        var run = await StoreRunAsync();
        await using (var db = NewContext())
        {
            db.LlmCalls.AddRange(
                Call(run, LlmCallStage.Answering, cacheHit: false, succeeded: true, 100, 20),
                Call(run, LlmCallStage.Answering, cacheHit: true, succeeded: true, 100, 20),
                Call(run, LlmCallStage.Judging, cacheHit: false, succeeded: false, null, null),
                new LlmCall { Stage = LlmCallStage.Judging, Model = "offline:elsewhere", Succeeded = true, At = TestRun.Start });
            db.BatchWork.Find(run.Work[^1].Id)!.Stage = BatchStage.Failed;
            await db.SaveChangesAsync();
        }

        await using var reader = NewContext();
        var summary = await reader.RunSummaryAsync(run.Run.Id);

        Assert.NotNull(summary);
        Assert.Equal(["offline:agent-a", "offline:agent-b"], summary.Agents);
        Assert.Equal(["offline:judge-x", "offline:judge-y"], summary.Judges);
        Assert.Equal(new PersonaProgress(Total: 1, QuestionsReady: 1, Completed: 0, Failed: 0), summary.Personas);
        Assert.Equal(new BatchProgress(Planned: 4, Tracked: 4, Answering: 0, Judging: 1, Done: 2, Failed: 1), summary.Batches);
        Assert.Equal((3, 2), (summary.Batches.Answered, summary.Batches.Judged));
        Assert.Equal((8, 16, 2), (summary.Answers, summary.Judgements, summary.ParseFailures));
        Assert.Equal(new LlmUsage(Calls: 3, CacheHits: 1, Failures: 1, InputTokens: 200, OutputTokens: 40), summary.Usage);
        Assert.Equal([LlmCallStage.Answering, LlmCallStage.Judging], summary.UsageByStage.Select(s => s.Stage));
    }

    [Fact]
    public async Task Run_summary_of_an_unknown_run_is_null()
    {
        await using var db = NewContext();
        Assert.Null(await db.RunSummaryAsync(Guid.CreateVersion7()));
    }

    [Fact]
    public async Task Leaderboard_lists_each_agent_of_each_run_newest_run_first_with_the_runs_personas()
    {
        var older = await StoreRunAsync("older", TestRun.Start, "Persona one");
        var newer = await StoreRunAsync("newer", TestRun.Start.AddDays(1), "Persona two");
        await using (var db = NewContext())
        {
            // An agent named but not yet judged still has the run's personas to be measured on: a board that counted
            // only judged ones would make a persona whose questions failed vanish from "scored / personas".
            db.RunModels.Add(new RunModel { RunId = newer.Run.Id, Role = RunModelRole.Agent, Spec = "offline:agent-c", Ordinal = 2 });
            await db.SaveChangesAsync();
        }

        await using var reader = NewContext();
        var rows = await reader.LeaderboardAsync();

        Assert.Equal(
            [("newer", "offline:agent-a", 1), ("newer", "offline:agent-b", 1), ("newer", "offline:agent-c", 1),
             ("older", "offline:agent-a", 1), ("older", "offline:agent-b", 1)],
            rows.Select(r => (r.RunName, r.AgentSpec, r.Personas)));
        Assert.All(rows, r => Assert.True(r.UsesOfflineModels));
        Assert.Equal(older.QuestionSet.Id, rows[^1].QuestionSetId);
    }

    private static LlmCall Call(TestRun run, LlmCallStage stage, bool cacheHit, bool succeeded, int? input, int? output) => new()
    {
        RunId = run.Run.Id, Stage = stage, Model = "offline:agent-a", CacheHit = cacheHit, Succeeded = succeeded,
        InputTokens = input, OutputTokens = output, LatencyMs = 5, At = TestRun.Start,
    };
}
