using MassTransit;
using MassTransit.Testing;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Contracts;
using PersonaGym.Data;
using PersonaGym.Pipeline.Stages;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>Failures end as stored, reported items with their reason; a run never hangs on them.</summary>
[Collection(PostgresServer.Collection)]
public sealed class FailureTests(PostgresServer postgres)
{
    [Fact]
    public async Task Unparseable_verdicts_are_stored_as_parse_failures_and_left_out_of_the_scores()
    {
        var models = new ModelCalls().With("judge-b", () => new ProseChatClient());
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { Models = models });
        var request = TestRuns.Request(personas: 1, agents: 1, judges: 2, questionsPerTask: 2);

        var runId = await pipeline.SubmitAsync(request);

        Assert.Equal(RunStatus.CompletedWithFailures, await pipeline.WaitForRunAsync(runId));
        await using var db = pipeline.NewContext();
        var judgements = await db.Judgements.AsNoTracking().Where(j => j.RunId == runId).Include(j => j.Judge).ToListAsync();
        Assert.Equal(TestRuns.Expected(request).Judgements, judgements.Count);
        var prose = judgements.Where(j => j.Judge.Spec == "offline:judge-b").ToList();
        Assert.Equal(TestRuns.Expected(request).Answers, prose.Count);
        Assert.All(prose, j =>
        {
            Assert.Null(j.Score);
            Assert.False(string.IsNullOrWhiteSpace(j.ParseFailure));
            Assert.Contains(ProseChatClient.Text, j.RawText);
        });
        Assert.All(judgements.Where(j => j.Judge.Spec == "offline:judge-a"), j => Assert.NotNull(j.Score));

        var score = Assert.Single(await db.PersonaScoresAsync(runId));
        Assert.Equal(prose.Count, score.Report.ParseFailures);
        // With judge B's verdicts excluded, every batch's mean is judge A's alone.
        var judgeA = judgements.Where(j => j.Judge.Spec == "offline:judge-a").ToList();
        var answers = await db.Answers.AsNoTracking().Where(a => a.RunId == runId).Select(a => new { a.Id, a.Question.Task }).ToListAsync();
        var expected = answers.GroupBy(a => a.Task)
            .Select(task => task.Average(a => (double)judgeA.Single(j => j.AnswerId == a.Id).Score!.Value))
            .Average();
        Assert.Equal(expected, score.Report.PersonaScore!.Value, precision: 9);
        await TestRuns.AssertScoresMatchJudgementsAsync(pipeline, runId, expectedScores: 1);
    }

    [Fact]
    public async Task An_agent_the_provider_rejects_fails_its_batches_with_the_reason_and_the_run_still_finishes()
    {
        var models = new ModelCalls().With("agent-b", () => new RejectingChatClient("offline:agent-b"));
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { Models = models });
        var request = TestRuns.Request(personas: 1, agents: 2, judges: 1, questionsPerTask: 2);

        var runId = await pipeline.SubmitAsync(request);

        Assert.Equal(RunStatus.CompletedWithFailures, await pipeline.WaitForRunAsync(runId));
        await using var db = pipeline.NewContext();
        var work = await db.BatchWork.AsNoTracking().Where(w => w.RunId == runId).Include(w => w.Agent).ToListAsync();
        Assert.Equal(TestRuns.Expected(request).BatchWork, work.Count);
        Assert.All(work.Where(w => w.Agent.Spec == "offline:agent-b"), w =>
        {
            Assert.Equal(BatchStage.Failed, w.Stage);
            Assert.StartsWith("answering:", w.Error);
            Assert.Contains(RejectingChatClient.Reason, w.Error);
        });
        Assert.All(work.Where(w => w.Agent.Spec == "offline:agent-a"), w => Assert.Equal(BatchStage.Done, w.Stage));
        Assert.Equal(0, await db.Answers.CountAsync(a => a.RunId == runId && a.Agent.Spec == "offline:agent-b"));
        // Refused requests are not retried: one call per question, the first one refused for each.
        Assert.Equal(request.QuestionsPerTask * 5, models.To("agent-b"));
        var score = Assert.Single(await db.PersonaScoresAsync(runId));
        Assert.Equal("offline:agent-a", score.AgentSpec);
    }

    [Fact]
    public async Task Messages_for_an_unknown_run_are_ignored_without_a_fault()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { TestHarness = true });
        Guid run = Guid.NewGuid(), persona = Guid.NewGuid(), batch = Guid.NewGuid(), agent = Guid.NewGuid();

        await pipeline.Bus.Publish(new EvaluatePersona { RunId = run, RunPersonaId = persona });
        await pipeline.Bus.Publish(new AnswerQuestions { RunId = run, RunPersonaId = persona, BatchId = batch, AgentId = agent });
        await pipeline.Bus.Publish(new JudgeAnswers { RunId = run, RunPersonaId = persona, BatchId = batch, AgentId = agent });
        await pipeline.Bus.Publish(new BatchJudged { RunId = run, RunPersonaId = persona, BatchId = batch, AgentId = agent });

        await AssertConsumedWithoutFaultAsync<QuestionGenerationConsumer, EvaluatePersona>(pipeline);
        await AssertConsumedWithoutFaultAsync<AnswerConsumer, AnswerQuestions>(pipeline);
        await AssertConsumedWithoutFaultAsync<JudgeConsumer, JudgeAnswers>(pipeline);
        await AssertConsumedWithoutFaultAsync<RunProgressConsumer, BatchJudged>(pipeline);
        Assert.False(pipeline.Harness.Published.Select<AnswerQuestions>().Skip(1).Any());
        Assert.False(pipeline.Harness.Published.Select<RunCompleted>().Any());
        Assert.Equal(0, pipeline.Models.Total);
        await using var db = pipeline.NewContext();
        Assert.Equal(0, await db.LlmCalls.CountAsync());
    }

    private static async Task AssertConsumedWithoutFaultAsync<TConsumer, TMessage>(TestPipeline pipeline)
        where TConsumer : class, IConsumer
        where TMessage : class
    {
        var consumer = pipeline.Harness.GetConsumerHarness<TConsumer>();
        await Wait.UntilAsync(() => Task.FromResult(consumer.Consumed.Select<TMessage>().Any()), $"{typeof(TConsumer).Name} to consume its message");
        var consumed = Assert.Single(consumer.Consumed.Select<TMessage>());
        Assert.Null(consumed.Exception);
        Assert.False(pipeline.Harness.Published.Select<Fault<TMessage>>().Any());
    }
}
