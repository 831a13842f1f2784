using MassTransit;
using MassTransit.Testing;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Contracts;
using PersonaGym.Data;
using PersonaGym.Pipeline.Messaging;
using PersonaGym.Pipeline.Stages;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// Each stage under MassTransit's test harness: a message delivered a second time (as a broker redelivers after a
/// lost ack) finds its work stored, makes no LLM call and writes no row, and hands the work on again.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class ConsumerIdempotencyTests(PostgresServer postgres)
{
    [Fact]
    public async Task EvaluatePersona_delivered_twice_generates_questions_once()
    {
        await using var pipeline = await StartAsync(PipelineStages.QuestionGeneration);
        var request = TestRuns.Request();
        var runId = await pipeline.SubmitAsync(request);
        await WaitForWorkAsync(pipeline, runId, w => true, TestRuns.Expected(request).BatchWork);

        var (calls, rows, paid) = (await pipeline.CallsByStageAsync(runId), await pipeline.CountRowsAsync(runId), pipeline.Models.Total);
        var handOvers = pipeline.Harness.Published.Select<AnswerQuestions>().Count();
        await RedeliverAsync<QuestionGenerationConsumer, EvaluatePersona>(pipeline);

        Assert.Equal(calls, await pipeline.CallsByStageAsync(runId));
        Assert.Equal(paid, pipeline.Models.Total);
        Assert.Equal(rows, await pipeline.CountRowsAsync(runId));
        Assert.Equal(TestRuns.Expected(request).Questions, rows.Questions);
        Assert.Equal(2 * handOvers, pipeline.Harness.Published.Select<AnswerQuestions>().Count());
    }

    [Fact]
    public async Task AnswerQuestions_delivered_twice_answers_once()
    {
        await using var pipeline = await StartAsync(PipelineStages.QuestionGeneration | PipelineStages.Answering);
        var request = TestRuns.Request();
        var runId = await pipeline.SubmitAsync(request);
        await WaitForWorkAsync(pipeline, runId, w => w.Stage == BatchStage.Judging, TestRuns.Expected(request).BatchWork);

        var (calls, rows, paid) = (await pipeline.CallsByStageAsync(runId), await pipeline.CountRowsAsync(runId), pipeline.Models.Total);
        await RedeliverAsync<AnswerConsumer, AnswerQuestions>(pipeline);

        Assert.Equal(calls, await pipeline.CallsByStageAsync(runId));
        Assert.Equal(paid, pipeline.Models.Total);
        Assert.Equal(rows, await pipeline.CountRowsAsync(runId));
        Assert.Equal(TestRuns.Expected(request).Answers, rows.Answers);
        Assert.Equal(2 * TestRuns.Expected(request).BatchWork, pipeline.Harness.Published.Select<JudgeAnswers>().Count());
    }

    [Fact]
    public async Task JudgeAnswers_delivered_twice_writes_exemplars_and_judgements_once()
    {
        await using var pipeline = await StartAsync(PipelineStages.QuestionGeneration | PipelineStages.Answering | PipelineStages.Judging);
        var request = TestRuns.Request();
        var runId = await pipeline.SubmitAsync(request);
        await WaitForWorkAsync(pipeline, runId, w => w.Stage == BatchStage.Done, TestRuns.Expected(request).BatchWork);

        var (calls, rows, paid) = (await pipeline.CallsByStageAsync(runId), await pipeline.CountRowsAsync(runId), pipeline.Models.Total);
        await RedeliverAsync<JudgeConsumer, JudgeAnswers>(pipeline);

        Assert.Equal(calls, await pipeline.CallsByStageAsync(runId));
        Assert.Equal(paid, pipeline.Models.Total);
        Assert.Equal(rows, await pipeline.CountRowsAsync(runId));
        Assert.Equal(TestRuns.Expected(request).Exemplars, rows.Exemplars);
        Assert.Equal(TestRuns.Expected(request).Judgements, rows.Judgements);
        Assert.Equal(2 * TestRuns.Expected(request).BatchWork, pipeline.Harness.Published.Select<BatchJudged>().Count());
    }

    [Fact]
    public async Task AnswerQuestions_published_again_while_the_first_delivery_is_answering_makes_no_call()
    {
        // The agent's calls are held, so every batch's first delivery is mid-answer when a second message for the same
        // batch arrives (as the stall detector or the sweeper publishes unfinished work again). The second must not pay
        // for the same calls: it finds the batch claimed and is dropped, and the first hands the batch on alone.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = TestRuns.Request(personas: 1, agents: 1, judges: 1, questionsPerTask: 4);
        var expected = TestRuns.Expected(request);
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup
        {
            Stages = PipelineStages.QuestionGeneration | PipelineStages.Answering,
            TestHarness = true,
            Models = new ModelCalls().With("agent-a", () => new HeldChatClient("agent-a", release.Task)),
            // Room for every question's call at once, so each batch's first delivery is at the model.
            Settings = new Dictionary<string, string?>
            {
                ["PersonaGym:Models:AdaptiveConcurrency"] = "false",
                ["PersonaGym:Models:MaxConcurrency"] = expected.Answers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        });
        var runId = await pipeline.SubmitAsync(request);
        await Wait.UntilAsync(() => Task.FromResult(pipeline.Models.To("agent-a") == expected.Answers), "every question's call to be held at the agent");

        List<BatchWork> work;
        await using (var db = pipeline.NewContext())
            work = await db.BatchWork.AsNoTracking().Where(w => w.RunId == runId).ToListAsync();
        // Counted by an observer: the harness's lists wait for the bus to go idle, which it does not while calls are held.
        var consumed = new ConsumedCount<AnswerQuestions>();
        using var observing = pipeline.Bus.ConnectConsumeMessageObserver(consumed);
        foreach (var item in work)
            await pipeline.Bus.Publish(new AnswerQuestions { RunId = runId, RunPersonaId = item.RunPersonaId, BatchId = item.BatchId, AgentId = item.AgentId });

        // Every second delivery finishes while the first ones are still held at the model.
        await Wait.UntilAsync(() => Task.FromResult(consumed.Succeeded == work.Count),
            "the second deliveries to be consumed while the first are answering");
        Assert.Equal(0, consumed.Faulted);
        Assert.Equal(0, (await pipeline.CountRowsAsync(runId)).Answers);

        release.SetResult();
        await WaitForWorkAsync(pipeline, runId, w => w.Stage == BatchStage.Judging && w.ClaimedBy is null, expected.BatchWork);
        Assert.Equal(expected.Answers, (await pipeline.CountRowsAsync(runId)).Answers);
        // Each question reached the model once: a second delivery's call could not have been answered from the cache,
        // since the first delivery's call was still held when it came.
        Assert.Equal(expected.Answers, pipeline.Models.To("agent-a"));
        Assert.Equal(expected.BatchWork, pipeline.Harness.Published.Select<JudgeAnswers>().Count());
        Assert.Equal(0, consumed.Faulted);
    }

    private sealed class ConsumedCount<T> : IConsumeMessageObserver<T>
        where T : class
    {
        private int _succeeded, _faulted;

        public int Succeeded => Volatile.Read(ref _succeeded);

        public int Faulted => Volatile.Read(ref _faulted);

        public Task PreConsume(ConsumeContext<T> context) => Task.CompletedTask;

        public Task PostConsume(ConsumeContext<T> context)
        {
            Interlocked.Increment(ref _succeeded);
            return Task.CompletedTask;
        }

        public Task ConsumeFault(ConsumeContext<T> context, Exception exception)
        {
            Interlocked.Increment(ref _faulted);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task A_claimed_batch_is_answered_by_a_redelivery_of_the_holders_message_or_once_the_claim_is_stale()
    {
        await using var pipeline = await StartAsync(PipelineStages.QuestionGeneration | PipelineStages.Answering);
        var request = TestRuns.Request(personas: 1, agents: 1, judges: 1, questionsPerTask: 4);
        var runId = await pipeline.SubmitAsync(request);
        await WaitForWorkAsync(pipeline, runId, w => w.Stage == BatchStage.Judging, TestRuns.Expected(request).BatchWork);

        // Two batches lose their answers and are due again, each claimed by a delivery that died mid-answer: one just
        // now, one longer ago than the lease.
        var holder = Guid.NewGuid();
        List<BatchWork> reopened;
        await using (var db = pipeline.NewContext())
        {
            reopened = await db.BatchWork.AsNoTracking().Where(w => w.RunId == runId).OrderBy(w => w.Id).Take(2).ToListAsync();
            foreach (var (item, claimedAt) in reopened.Zip([DateTimeOffset.UtcNow, DateTimeOffset.UtcNow - TimeSpan.FromMinutes(5)]))
            {
                await db.Answers.Where(a => a.AgentId == item.AgentId && a.Question.BatchId == item.BatchId).ExecuteDeleteAsync();
                await db.BatchWork.Where(w => w.Id == item.Id).ExecuteUpdateAsync(s => s.SetProperty(w => w.Stage, BatchStage.Answering)
                    .SetProperty(w => w.ClaimedBy, holder).SetProperty(w => w.ClaimedAt, claimedAt));
            }
        }

        var (fresh, stale) = (reopened[0], reopened[1]);
        AnswerQuestions For(BatchWork item) => new() { RunId = runId, RunPersonaId = item.RunPersonaId, BatchId = item.BatchId, AgentId = item.AgentId };
        async Task<int> AnswersOfAsync(BatchWork item)
        {
            await using var db = pipeline.NewContext();
            return await db.Answers.CountAsync(a => a.AgentId == item.AgentId && a.Question.BatchId == item.BatchId);
        }

        // Another message for the freshly claimed batch leaves it to its holder.
        await DeliverAsync<AnswerConsumer, AnswerQuestions>(pipeline, For(fresh));
        Assert.Equal(0, await AnswersOfAsync(fresh));

        // The broker's redelivery of the holder's own message (same message id) takes the claim over at once.
        await DeliverAsync<AnswerConsumer, AnswerQuestions>(pipeline, For(fresh), messageId: holder);
        Assert.Equal(request.QuestionsPerTask, await AnswersOfAsync(fresh));

        // A claim nobody renewed for longer than the lease is a dead holder's: any message takes it over.
        await DeliverAsync<AnswerConsumer, AnswerQuestions>(pipeline, For(stale));
        Assert.Equal(request.QuestionsPerTask, await AnswersOfAsync(stale));

        await using var check = pipeline.NewContext();
        var after = await check.BatchWork.AsNoTracking().Where(w => w.Id == fresh.Id || w.Id == stale.Id).ToListAsync();
        Assert.All(after, w => Assert.Equal((BatchStage.Judging, (Guid?)null), (w.Stage, w.ClaimedBy)));
    }

    [Fact]
    public async Task AnswerQuestions_after_another_process_cancelled_the_run_calls_nothing_and_after_it_resumed_answers_again()
    {
        // This process has read the run's models, personas and questions (kept in memory); another process then changes
        // the run's status. The status is read fresh for each message, so both changes are seen at once.
        await using var pipeline = await StartAsync(PipelineStages.QuestionGeneration | PipelineStages.Answering);
        var request = TestRuns.Request();
        var runId = await pipeline.SubmitAsync(request);
        await WaitForWorkAsync(pipeline, runId, w => w.Stage == BatchStage.Judging, TestRuns.Expected(request).BatchWork);

        BatchWork reopened;
        int removed;
        await using (var other = pipeline.NewContext())
        {
            // One batch loses its answers and is due again, and the run is cancelled.
            reopened = await other.BatchWork.AsNoTracking().Where(w => w.RunId == runId).OrderBy(w => w.Id).FirstAsync();
            removed = await other.Answers.Where(a => a.AgentId == reopened.AgentId && a.Question.BatchId == reopened.BatchId).ExecuteDeleteAsync();
            await other.BatchWork.Where(w => w.Id == reopened.Id).ExecuteUpdateAsync(s => s.SetProperty(w => w.Stage, BatchStage.Answering));
            await other.Runs.Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Cancelled));
        }

        Assert.True(removed > 0);
        var message = new AnswerQuestions { RunId = runId, RunPersonaId = reopened.RunPersonaId, BatchId = reopened.BatchId, AgentId = reopened.AgentId };
        var (paid, answers) = (pipeline.Models.Total, (await pipeline.CountRowsAsync(runId)).Answers);
        await DeliverAsync<AnswerConsumer, AnswerQuestions>(pipeline, message);
        Assert.Equal((paid, answers), (pipeline.Models.Total, (await pipeline.CountRowsAsync(runId)).Answers));

        await using (var other = pipeline.NewContext())
        {
            await other.Runs.Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Running));
        }

        await DeliverAsync<AnswerConsumer, AnswerQuestions>(pipeline, message);
        // Answered again (from the response cache: the same questions were answered before).
        Assert.Equal(answers + removed, (await pipeline.CountRowsAsync(runId)).Answers);
    }

    [Fact]
    public async Task BatchJudged_delivered_twice_announces_the_finished_run_once()
    {
        await using var pipeline = await StartAsync(PipelineStages.All);
        var runId = await pipeline.SubmitAsync(TestRuns.Request(personas: 1, agents: 1, judges: 1, questionsPerTask: 2));
        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(runId));
        await Wait.UntilAsync(() => Task.FromResult(pipeline.Harness.Published.Select<RunCompleted>().Any()), "RunCompleted to be published");

        await RedeliverAsync<RunProgressConsumer, BatchJudged>(pipeline);

        var completed = Assert.Single(pipeline.Harness.Published.Select<RunCompleted>());
        Assert.Equal(runId, completed.Context.Message.RunId);
        Assert.Equal(nameof(RunStatus.Completed), completed.Context.Message.Status);
        Assert.Equal(RunStatus.Completed, await pipeline.StatusAsync(runId));
    }

    private async Task<TestPipeline> StartAsync(PipelineStages stages) =>
        await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { Stages = stages, TestHarness = true });

    private static Task WaitForWorkAsync(TestPipeline pipeline, Guid runId, Func<BatchWork, bool> reached, int expected) =>
        Wait.UntilAsync(async () =>
        {
            await using var db = pipeline.NewContext();
            var work = await db.BatchWork.AsNoTracking().Where(w => w.RunId == runId).ToListAsync();
            return work.Count == expected && work.All(reached);
        }, $"{expected} batches of work to reach the stage under test");

    /// <summary>Delivers one message and waits until the consumer consumed it without a fault.</summary>
    private static async Task DeliverAsync<TConsumer, TMessage>(TestPipeline pipeline, TMessage message, Guid? messageId = null)
        where TConsumer : class, IConsumer
        where TMessage : class
    {
        var consumer = pipeline.Harness.GetConsumerHarness<TConsumer>();
        var before = consumer.Consumed.Select<TMessage>().Count();
        await pipeline.Bus.Publish(message, context => context.MessageId = messageId ?? context.MessageId);
        await Wait.UntilAsync(() => Task.FromResult(consumer.Consumed.Select<TMessage>().Count() > before), $"the {typeof(TMessage).Name} to be consumed");
        Assert.Empty(consumer.Consumed.Select<TMessage>(m => m.Exception is not null));
    }

    /// <summary>Delivers every message the consumer has consumed once more, one after the other, and waits until it consumed them all without a fault.</summary>
    private static async Task RedeliverAsync<TConsumer, TMessage>(TestPipeline pipeline)
        where TConsumer : class, IConsumer
        where TMessage : class
    {
        var consumer = pipeline.Harness.GetConsumerHarness<TConsumer>();
        var first = consumer.Consumed.Select<TMessage>().Select(m => m.Context.Message).ToList();
        Assert.NotEmpty(first);
        foreach (var message in first)
        {
            var before = consumer.Consumed.Select<TMessage>().Count();
            await pipeline.Bus.Publish(message);
            await Wait.UntilAsync(() => Task.FromResult(consumer.Consumed.Select<TMessage>().Count() > before), $"the redelivered {typeof(TMessage).Name} to be consumed");
        }

        Assert.Empty(consumer.Consumed.Select<TMessage>(m => m.Exception is not null));
    }
}
