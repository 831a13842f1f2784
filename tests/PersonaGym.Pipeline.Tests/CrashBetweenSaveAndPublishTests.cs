using PersonaGym.Contracts;
using PersonaGym.Data;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// A stage that stored its work and then failed to publish the next message is redelivered; the redelivery finds the
/// stored work, publishes the hand-over without a new LLM call, and the run finishes with the calls of a run that
/// never failed.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class CrashBetweenSaveAndPublishTests(PostgresServer postgres)
{
    /// <summary>The hand-overs of the question, answer and judge stages.</summary>
    public static TheoryData<Type> HandOvers => [typeof(AnswerQuestions), typeof(JudgeAnswers), typeof(BatchJudged)];

    [Theory]
    [MemberData(nameof(HandOvers))]
    public async Task Redelivery_publishes_the_hand_over_without_new_LLM_calls(Type handOver)
    {
        var fault = new HandOverCrash(handOver);
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(),
            new PipelineSetup { TestHarness = true, ConfigureHarness = fault.Install });
        // One persona, one agent: every stage's number of calls is fixed (no two deliveries share exemplars).
        var request = TestRuns.Request(personas: 1, agents: 1, judges: 2, questionsPerTask: 3, batchSize: 2);

        var runId = await pipeline.SubmitAsync(request);

        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(runId));
        // The crash stopped the hand-over before it reached the transport, and the sweeper is off: only the
        // redelivery of the crashed message can have published it, or the run could not have finished.
        Assert.True(fault.Fired);
        Assert.Equal(TestRuns.Expected(request), await pipeline.CountRowsAsync(runId));
        const int tasks = 5, batches = tasks * 2;
        var expectedCalls = new Dictionary<LlmCallStage, int>
        {
            [LlmCallStage.EnvironmentSelection] = 1,
            [LlmCallStage.QuestionGeneration] = tasks,
            [LlmCallStage.Answering] = tasks * 3,
            [LlmCallStage.Exemplars] = batches,
            [LlmCallStage.Judging] = batches * 2,
        };
        Assert.Equal(expectedCalls, await pipeline.CallsByStageAsync(runId));
        Assert.Equal(expectedCalls.Values.Sum(), pipeline.Models.Total);
    }
}
