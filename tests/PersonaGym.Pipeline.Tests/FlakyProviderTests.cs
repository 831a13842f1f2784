using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>
/// Every model of a run behind a real OpenAI-compatible HTTP server on loopback that fails 30 % of calls (500s, 429s
/// with Retry-After, attempts that time out) and otherwise answers as the offline model would: the run completes, and
/// its scores are exactly those of the same run against the offline models directly.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class FlakyProviderTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_provider_failing_30_percent_of_calls_costs_retries_only_and_the_run_scores_exactly_as_without_failures()
    {
        await using var provider = OfflineOpenAiServer.Start(ThirtyPercentFailing);
        var settings = new Dictionary<string, string?>
        {
            ["PersonaGym:Endpoints:Allowed:0:Url"] = provider.BaseAddress.ToString(),
            ["PersonaGym:Models:MaxAttempts"] = "12",
            ["PersonaGym:Models:Timeout"] = "00:00:00.500",
            // Retries are what is tested here, not how concurrency adapts to 429s (AdaptiveConcurrencyTests).
            ["PersonaGym:Models:AdaptiveConcurrency"] = "false",
            ["PersonaGym:Models:MaxConcurrency"] = "16",
        };
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup { Settings = settings });

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
        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(flakyRun));
        var directRun = await pipeline.SubmitAsync(direct);
        Assert.Equal(RunStatus.Completed, await pipeline.WaitForRunAsync(directRun));

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

    /// <summary>Calls 1, 4 and 7 of every ten fail: 500, 429 with Retry-After, or (every twentieth) too slow for the attempt timeout, else 503.</summary>
    private static ProviderFault ThirtyPercentFailing(int request) => (request % 10) switch
    {
        1 => ProviderFault.ServerError,
        4 => ProviderFault.Throttled,
        7 when request % 20 == 7 => ProviderFault.TooSlow,
        7 => ProviderFault.Overloaded,
        _ => ProviderFault.None,
    };
}
