using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Cli.Remote;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;
using Xunit.Abstractions;

namespace PersonaGym.AppHost.Tests;

/// <summary>
/// Whole evaluations through the real distributed system: the Api, the three worker services (two judge and two agent-runner replicas),
/// RabbitMQ and PostgreSQL, all started by the AppHost on this machine's installed servers.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class DistributedRunTests(DistributedRunTests.SystemFixture system, ITestOutputHelper output)
    : IClassFixture<DistributedRunTests.SystemFixture>
{
    /// <summary>
    /// A system of its own (its replicas get killed), whose runs' models are offline models behind a loopback
    /// OpenAI-compatible provider: a call killed in flight leaves no LlmCalls row, so the provider counts what was sent.
    /// </summary>
    public sealed class SystemFixture : IAsyncLifetime
    {
        /// <summary>Calls in flight per model and process: a fixed ceiling, so what a kill can cut off has a known bound.</summary>
        public const int ModelConcurrency = 2;

        private readonly LocalInfrastructureAppFixture _inner;

        public SystemFixture()
        {
            Provider = OfflineOpenAiServer.Start();
            _inner = new LocalInfrastructureAppFixture
            {
                Settings = new Dictionary<string, string>
                {
                    ["PersonaGym:Endpoints:Allowed:0:Url"] = Provider.BaseAddress.ToString(),
                    ["PersonaGym:Models:AdaptiveConcurrency"] = "false",
                    ["PersonaGym:Models:MaxConcurrency"] = ModelConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
            };
        }

        public OfflineOpenAiServer Provider { get; }

        public DistributedApplication App => _inner.App;

        public Task InitializeAsync() => _inner.InitializeAsync();

        public async Task DisposeAsync()
        {
            await _inner.DisposeAsync();
            await Provider.DisposeAsync();
        }

        public string DescribeResources() => _inner.DescribeResources();

        public HttpClient ApiClient() => _inner.ApiClient();
    }

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    private async Task<PersonaGymDbContext> OpenDatabaseAsync()
    {
        var connectionString = await system.App.GetConnectionStringAsync("personagym");
        return PersonaGymDatabase.CreateDbContext(new DatabaseConnection(DatabaseProvider.Postgres, connectionString!));
    }

    /// <summary>
    /// A run of two agents and two judges whose every model is named after the run (<c>{name}-agent-a</c>, …) at the
    /// loopback provider, so the provider's count for those names is this run's calls alone.
    /// </summary>
    private RunRequest Request(string name, int personas, int questionsPerTask)
    {
        string Model(string role) => system.Provider.Spec($"{name}-{role}");
        return new RunRequest
        {
            Name = name,
            Personas = Enumerable.Range(1, personas)
                .Select(i => $"A {30 + i}-year-old {name} tester number {i} who grows tomatoes and argues about football").ToList(),
            Agents = [Model("agent-a"), Model("agent-b")],
            Judges = [Model("judge-1"), Model("judge-2")],
            QuestionWriter = Model("question-writer"),
            ExemplarWriter = Model("exemplar-writer"),
            QuestionsPerTask = questionsPerTask,
        };
    }

    /// <summary>
    /// The calls a run of <paramref name="request"/> makes when nothing fails, by the paper's method: per persona one
    /// environment selection and one question-writing call per task; one answer per question and agent; per batch one
    /// exemplar call (shared by the agents) and one judge call per agent and judge. Each is a distinct request (the
    /// prompts name the run's own personas, and the agents answer differently), so none is answered from the cache,
    /// as long as no persona gets one question twice: the offline question writer repeats itself only past eight
    /// questions per task, so the runs here ask at most eight (and <see cref="CallsAsync"/> checks it).
    /// </summary>
    private static int ExpectedCalls(RunRequest request)
    {
        var personas = request.Personas.Count;
        var tasks = PersonaTasks.All.Count;
        var batches = personas * tasks * ((request.QuestionsPerTask + request.BatchSize - 1) / request.BatchSize);
        return personas + personas * tasks
            + personas * tasks * request.QuestionsPerTask * request.Agents.Count
            + batches + batches * request.Agents.Count * request.Judges.Count;
    }

    /// <summary>The provider's model names of a run's specs (<c>openai:&lt;name&gt;@&lt;provider&gt;</c>).</summary>
    private static IEnumerable<string> ModelNames(RunRequest request) =>
        request.Agents.Concat(request.Judges).Append(request.QuestionWriter!).Append(request.ExemplarWriter!).Select(ModelName);

    private static string ModelName(string spec) => spec["openai:".Length..spec.IndexOf('@', StringComparison.Ordinal)];

    /// <summary>
    /// What a kill destroyed, read once the killed processes are gone: the requests the provider had been sent for the
    /// killed stage's models by then, less their paid calls recorded by then (the other stages' processes live on, and
    /// their calls in flight are not lost). A recorded call's answer is cached before it is recorded (the
    /// pipeline's recorder sits outside its cache), so it is never requested again; any other request sent by then was in
    /// flight at the provider, or answered but not yet committed, and may be made once more after redelivery. The
    /// recorded calls are counted before the requests, so every call counted as recorded is also counted as sent, and the
    /// requests of a dying process have half a second to reach the provider's count first.
    /// </summary>
    /// <remarks>
    /// Not a share of the run: with an instant model, answers arrive faster than they are committed, so how many are
    /// between the provider and the database at the kill depends on the machine (22 of 1,088 calls here, 51 of 2,176 in
    /// one CI run), while the calls in flight are capped by <see cref="SystemFixture.ModelConcurrency"/>.
    /// </remarks>
    private async Task<int> LostToTheKillAsync(Guid runId, IReadOnlyCollection<string> killedStageSpecs)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var specs = killedStageSpecs.ToArray();
        await using var db = await OpenDatabaseAsync();
        var recorded = await db.LlmCalls.CountAsync(c => c.RunId == runId && c.Succeeded && !c.CacheHit && specs.Contains(c.Model));
        var sent = system.Provider.RequestsFor(killedStageSpecs.Select(ModelName));
        output.WriteLine($"after the kill: {sent} requests sent to the killed stage's models, {recorded} of their paid calls recorded: at most {sent - recorded} to make again");
        return sent - recorded;
    }

    /// <summary>
    /// The "no lost or duplicated work": every needed call reaches the provider at least once (nothing else has
    /// its answer), and beyond that only what a kill destroyed (<paramref name="lostToTheKill"/>, from
    /// <see cref="LostToTheKillAsync"/>; none in a run nothing killed) is made again, once.
    /// </summary>
    private async Task AssertNoCallMadeTwiceBeyondAsync(RunRequest request, Guid runId, int lostToTheKill)
    {
        var (expected, requests, answered, paid) = await CallsAsync(request, runId);
        output.WriteLine($"the provider was sent {requests} requests for {expected} needed calls: {requests - expected} extra (at most {lostToTheKill})");
        Assert.True(requests >= expected, $"The provider was sent {requests} requests, fewer than the {expected} the run needs.");
        Assert.True(requests - expected <= lostToTheKill,
            $"The provider was sent {requests} requests for a run that needs {expected}: {requests - expected} extra, more than the {lostToTheKill} "
            + $"sent but not recorded when the processes were killed. {answered} answered, {paid} paid calls recorded. "
            + $"By model: {system.Provider.Breakdown(ModelNames(request))}.");
        // A paid call is one the provider answered; an answer can be lost with its process before it is recorded.
        Assert.True(paid <= answered, $"{paid} paid calls recorded, but the provider answered {answered}.");
    }

    private async Task<(int Expected, int Requests, int Answered, int Paid)> CallsAsync(RunRequest request, Guid runId)
    {
        await using var db = await OpenDatabaseAsync();
        // The premise of ExpectedCalls: a question asked twice of one persona would be one request, answered once.
        var setId = await db.Runs.Where(r => r.Id == runId).Select(r => r.QuestionSetId).SingleAsync();
        Assert.Equal(0, await db.Questions.Where(q => q.QuestionSetPersona.QuestionSetId == setId)
            .GroupBy(q => new { q.QuestionSetPersonaId, q.Text }).CountAsync(g => g.Count() > 1));

        var paid = await db.LlmCalls.CountAsync(c => c.RunId == runId && !c.CacheHit);
        var calls = (ExpectedCalls(request), system.Provider.RequestsFor(ModelNames(request)), system.Provider.AnsweredFor(ModelNames(request)), paid);
        output.WriteLine($"run {runId}: {calls.Item1} calls needed; the provider was sent {calls.Item2} and answered {calls.Item3}; {paid} paid calls recorded");
        return calls;
    }

    /// <summary>
    /// Every task score and PersonaScore the Api reports equals the recomputation from the stored judgements
    /// (<see cref="ScoresFromVerdicts"/>), for each of the run's <paramref name="pairs"/> (agent, persona) pairs.
    /// </summary>
    private async Task AssertScoresEqualRecomputationAsync(ServerClient client, Guid runId, int pairs)
    {
        var report = await client.ReportAsync(runId, CancellationToken.None);
        await using var db = await OpenDatabaseAsync();
        var recomputed = await ScoresFromVerdicts.RecomputeAsync(db, runId);

        Assert.Equal(pairs, recomputed.Count);
        Assert.Equal(pairs, report.Models.Sum(m => m.Personas.Count));
        foreach (var model in report.Models)
        {
            foreach (var persona in model.Personas)
            {
                var expected = Assert.Single(recomputed, r => r.Agent == model.Agent && r.Persona == persona.Persona);
                foreach (var task in PersonaTasks.All)
                {
                    Assert.NotNull(expected.Tasks[task]);
                    Assert.Equal(expected.Tasks[task]!.Value, persona.Scores[task].Score!.Value, precision: 9);
                }

                Assert.NotNull(expected.PersonaScore);
                Assert.Equal(expected.PersonaScore.Value, persona.Scores.PersonaScore!.Value, precision: 9);
            }
        }
    }

    private async Task<RunSummaryStatus> WaitForRunAsync(ServerClient client, Guid runId)
    {
        using var timeout = new CancellationTokenSource(RunTimeout);
        RunSummary? summary = null;
        try
        {
            while (true)
            {
                try
                {
                    summary = await client.SummaryAsync(runId, timeout.Token);
                }
                catch (PersonaGym.Cli.CliException e) when (e.Message.StartsWith("the server answered 503", StringComparison.Ordinal))
                {
                    // While the database is unreachable the Api answers 503 with Retry-After; the client waits that out
                    // for a minute, and a longer outage (a killed PostgreSQL restarting on a loaded machine) is waited out here.
                    await Task.Delay(500, timeout.Token);
                    continue;
                }

                Assert.NotNull(summary);
                if (summary.Status is not (RunStatus.Pending or RunStatus.Running))
                {
                    output.WriteLine($"run {runId}: {summary.Status}, {summary.Judgements} judgements, {summary.Usage.Calls} calls");
                    return new RunSummaryStatus(summary.Status, summary.Judgements);
                }

                await Task.Delay(250, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Run {runId} did not finish within {RunTimeout}; last seen: {summary?.Status}, {summary?.Judgements} judgements. " +
                $"Resources:{Environment.NewLine}{system.DescribeResources()}");
        }
    }

    private sealed record RunSummaryStatus(RunStatus Status, int Judgements);

    private void AssertCompleted(RunSummaryStatus finished) =>
        Assert.True(finished.Status == RunStatus.Completed,
            $"The run ended {finished.Status} after {finished.Judgements} judgements. Resources:{Environment.NewLine}{system.DescribeResources()}");

    [Fact]
    public async Task A_run_submitted_to_the_api_completes_with_scores_equal_to_a_recomputation_from_the_database()
    {
        var client = new ServerClient(system.ApiClient());
        var request = Request("distributed", personas: 3, questionsPerTask: 2);

        var accepted = await client.SubmitAsync(request, CancellationToken.None);
        var finished = await WaitForRunAsync(client, accepted.Id);

        AssertCompleted(finished);
        await using var db = await OpenDatabaseAsync();
        // 3 personas × 5 tasks × 2 questions, answered by 2 agents, each answer graded by 2 judges.
        Assert.Equal(3 * 10 * 2, await db.Answers.CountAsync(a => a.RunId == accepted.Id));
        Assert.Equal(3 * 10 * 2 * 2, await db.Judgements.CountAsync(j => j.RunId == accepted.Id));
        await AssertScoresEqualRecomputationAsync(client, accepted.Id, pairs: 2 * 3);

        // Nothing killed: the provider was sent exactly the calls the method makes, each answered and recorded once.
        var (expected, requests, answered, paid) = await CallsAsync(request, accepted.Id);
        Assert.Equal(expected, requests);
        Assert.Equal(requests, answered);
        Assert.Equal(answered, paid);
        Assert.Equal(expected, await db.LlmCalls.CountAsync(c => c.RunId == accepted.Id));

        // The AppHost gave the workers the fixture's PersonaGym:Models ceiling, on which the kill tests' bound rests:
        // every process that called the agent reports it (reports are written every few seconds while a process lives).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var agent = request.Agents[0];
        while (!await db.ModelConcurrencyReports.AnyAsync(r => r.Model == agent, timeout.Token))
            await Task.Delay(250, timeout.Token);
        var ceilings = await db.ModelConcurrencyReports.Where(r => r.Model == agent).Select(r => r.Ceiling).ToListAsync();
        Assert.All(ceilings, ceiling => Assert.Equal(SystemFixture.ModelConcurrency, ceiling));
    }

    [Fact]
    public async Task Killing_a_judge_replica_mid_run_still_completes_with_one_judgement_per_answer_and_judge()
    {
        var client = new ServerClient(system.ApiClient());
        var judges = await ProcessIdsAsync("judge", 2);
        Assert.Equal(2, judges.Count);

        var request = Request("replica-kill", personas: 8, questionsPerTask: 8);
        var accepted = await client.SubmitAsync(request, CancellationToken.None);

        // Kill one replica outright as soon as judging has started, while batches are still queued and in flight.
        await using (var db = await OpenDatabaseAsync())
        {
            using var timeout = new CancellationTokenSource(RunTimeout);
            while (!await db.Judgements.AnyAsync(j => j.RunId == accepted.Id, timeout.Token))
                await Task.Delay(20, timeout.Token);
        }

        using (var victim = Process.GetProcessById(judges[0]))
        {
            victim.Kill(entireProcessTree: true);
            await victim.WaitForExitAsync();
        }

        output.WriteLine($"killed judge replica process {judges[0]}");
        // The judge service writes the score exemplars too.
        var lost = await LostToTheKillAsync(accepted.Id, [.. request.Judges, request.ExemplarWriter!]);

        var finished = await WaitForRunAsync(client, accepted.Id);
        AssertCompleted(finished);

        await using var check = await OpenDatabaseAsync();
        var answers = await check.Answers.CountAsync(a => a.RunId == accepted.Id);
        Assert.Equal(8 * 5 * 8 * 2, answers);
        Assert.Equal(answers * 2, await check.Judgements.CountAsync(j => j.RunId == accepted.Id));
        Assert.Equal(0, await check.Judgements.Where(j => j.RunId == accepted.Id)
            .GroupBy(j => new { j.AnswerId, j.JudgeId }).CountAsync(g => g.Count() > 1));
        await AssertScoresEqualRecomputationAsync(client, accepted.Id, pairs: 2 * 8);
        await AssertNoCallMadeTwiceBeyondAsync(request, accepted.Id, lost);
    }

    [Fact]
    public async Task Two_agent_runner_replicas_complete_a_run_with_no_answer_lost_or_duplicated()
    {
        var client = new ServerClient(system.ApiClient());
        var runners = await ProcessIdsAsync("agent-runner", 2);
        Assert.Equal(2, runners.Count);
        Assert.All(runners, pid => Assert.False(Process.GetProcessById(pid).HasExited));

        var request = Request("agent-replicas", personas: 3, questionsPerTask: 3);
        var accepted = await client.SubmitAsync(request, CancellationToken.None);
        var finished = await WaitForRunAsync(client, accepted.Id);

        AssertCompleted(finished);
        await using var db = await OpenDatabaseAsync();
        // 3 personas × 5 tasks × 3 questions, each answered once by each of the 2 agents: none missing, none twice.
        var questions = await db.Answers.Where(a => a.RunId == accepted.Id).Select(a => a.QuestionId).Distinct().CountAsync();
        Assert.Equal(3 * 5 * 3, questions);
        Assert.Equal(3 * 5 * 3 * 2, await db.Answers.CountAsync(a => a.RunId == accepted.Id));
        Assert.Equal(0, await db.Answers.Where(a => a.RunId == accepted.Id).GroupBy(a => new { a.QuestionId, a.AgentId }).CountAsync(g => g.Count() > 1));
        Assert.Equal(3 * 5 * 3 * 2 * 2, await db.Judgements.CountAsync(j => j.RunId == accepted.Id));
        Assert.All(runners, pid => Assert.False(Process.GetProcessById(pid).HasExited));
        // Two replicas competing for one queue pay for no call twice.
        await AssertNoCallMadeTwiceBeyondAsync(request, accepted.Id, lostToTheKill: 0);
    }

    [Fact]
    public async Task Killing_every_agent_runner_mid_run_restarts_them_and_the_run_completes_without_duplicates()
    {
        var client = new ServerClient(system.ApiClient());
        var runners = await ProcessIdsAsync("agent-runner", 2);

        var request = Request("agent-runner-kill", personas: 8, questionsPerTask: 8);
        var accepted = await client.SubmitAsync(request, CancellationToken.None);
        await using (var db = await OpenDatabaseAsync())
        {
            using var timeout = new CancellationTokenSource(RunTimeout);
            while (!await db.Answers.AnyAsync(a => a.RunId == accepted.Id, timeout.Token))
                await Task.Delay(20, timeout.Token);
        }

        foreach (var runner in runners)
        {
            using var victim = Process.GetProcessById(runner);
            victim.Kill(entireProcessTree: true);
            await victim.WaitForExitAsync();
        }
        var lost = await LostToTheKillAsync(accepted.Id, request.Agents);

        // Nothing but the AppHost's restart brings an agent-runner back; without one the run cannot finish.
        var finished = await WaitForRunAsync(client, accepted.Id);
        AssertCompleted(finished);
        Assert.NotEmpty(await ProcessIdsAsync("agent-runner", 1, except: runners));

        await using var check = await OpenDatabaseAsync();
        var answers = await check.Answers.CountAsync(a => a.RunId == accepted.Id);
        // 8 personas × 5 tasks × 8 questions, each answered once by each of the 2 agents.
        Assert.Equal(8 * 5 * 8 * 2, answers);
        Assert.Equal(0, await check.Answers.Where(a => a.RunId == accepted.Id).GroupBy(a => new { a.AgentId, a.QuestionId }).CountAsync(g => g.Count() > 1));
        Assert.Equal(answers * 2, await check.Judgements.CountAsync(j => j.RunId == accepted.Id));
        await AssertScoresEqualRecomputationAsync(client, accepted.Id, pairs: 2 * 8);
        await AssertNoCallMadeTwiceBeyondAsync(request, accepted.Id, lost);
    }

    [Fact]
    public async Task Killing_every_question_generator_mid_run_restarts_them_and_the_run_completes_without_duplicates()
    {
        var client = new ServerClient(system.ApiClient());
        // Two replicas by default, like every stage.
        var generators = await ProcessIdsAsync("question-generator", 2);
        Assert.Equal(2, generators.Count);

        var request = Request("question-generator-kill", personas: 4, questionsPerTask: 8);
        var accepted = await client.SubmitAsync(request, CancellationToken.None);
        await using (var db = await OpenDatabaseAsync())
        {
            // Killed while questions are being written: the first question-stage call is recorded, no persona is ready.
            using var timeout = new CancellationTokenSource(RunTimeout);
            while (!await db.LlmCalls.AnyAsync(c => c.RunId == accepted.Id, timeout.Token))
                await Task.Delay(20, timeout.Token);
        }

        foreach (var generator in generators)
        {
            using var victim = Process.GetProcessById(generator);
            victim.Kill(entireProcessTree: true);
            await victim.WaitForExitAsync();
        }
        var lost = await LostToTheKillAsync(accepted.Id, [request.QuestionWriter!]);

        // Nothing but the AppHost's restart brings a question-generator back; without one no question is written.
        var finished = await WaitForRunAsync(client, accepted.Id);
        AssertCompleted(finished);
        Assert.NotEmpty(await ProcessIdsAsync("question-generator", 1, except: generators));

        await using var check = await OpenDatabaseAsync();
        var setId = await check.Runs.Where(r => r.Id == accepted.Id).Select(r => r.QuestionSetId).SingleAsync();
        var questions = check.Questions.Where(q => q.QuestionSetPersona.QuestionSetId == setId);
        Assert.Equal(4 * 5 * 8, await questions.CountAsync());
        Assert.Equal(0, await questions.GroupBy(q => new { q.BatchId, q.Ordinal }).CountAsync(g => g.Count() > 1));
        var answers = await check.Answers.CountAsync(a => a.RunId == accepted.Id);
        Assert.Equal(4 * 5 * 8 * 2, answers);
        Assert.Equal(0, await check.Answers.Where(a => a.RunId == accepted.Id).GroupBy(a => new { a.AgentId, a.QuestionId }).CountAsync(g => g.Count() > 1));
        Assert.Equal(answers * 2, await check.Judgements.CountAsync(j => j.RunId == accepted.Id));
        await AssertScoresEqualRecomputationAsync(client, accepted.Id, pairs: 2 * 4);
        await AssertNoCallMadeTwiceBeyondAsync(request, accepted.Id, lost);
    }

    /// <summary>
    /// The "broker and database loss cost only time", through the AppHost: its own server resource
    /// (<c>rabbitmq</c> or <c>postgres</c>, local processes on fixed ports) is killed while the run is answering, left
    /// down while the workers notice, and started again with the resource's start command.
    /// The run completes with every piece stored once and every score equal to a recomputation from its verdicts.
    /// </summary>
    [Theory]
    [InlineData(InfrastructureExtensions.MessagingName)]
    [InlineData(InfrastructureExtensions.PostgresServerName)]
    public async Task Killing_a_server_mid_run_and_starting_it_again_costs_only_time(string server)
    {
        var client = new ServerClient(system.ApiClient());
        var request = Request($"{server}-restart", personas: 4, questionsPerTask: 4);
        var accepted = await client.SubmitAsync(request, CancellationToken.None);
        await using (var db = await OpenDatabaseAsync())
        {
            using var timeout = new CancellationTokenSource(RunTimeout);
            while (!await db.Answers.AnyAsync(a => a.RunId == accepted.Id, timeout.Token))
                await Task.Delay(20, timeout.Token);
        }

        // Mid-run: answers are being stored and most of the judging is still to come.
        var before = (await client.SummaryAsync(accepted.Id, CancellationToken.None))!;
        Assert.Equal(RunStatus.Running, before.Status);
        Assert.True(before.Judgements < 4 * 5 * 4 * 2 * 2 / 2, $"{before.Judgements} judgements before {server} was killed: not mid-run");
        output.WriteLine($"killing {server} at {before.Answers} answers, {before.Judgements} judgements");

        // Killed with every process it started, as a crash or a lost machine would (a stop command would ask
        // PostgreSQL for a smart shutdown, which waits for the services' pooled connections to close).
        var commands = system.App.Services.GetRequiredService<ResourceCommandService>();
        var notifications = system.App.Services.GetRequiredService<ResourceNotificationService>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            using var victim = Process.GetProcessById(Assert.Single(await ProcessIdsAsync(server, 1)));
            victim.Kill(entireProcessTree: true);
            await victim.WaitForExitAsync(timeout.Token);
            await notifications.WaitForResourceAsync(server, e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text), timeout.Token);
        }

        // Down long enough for every worker to lose its connections and retry.
        await Task.Delay(TimeSpan.FromSeconds(8));
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            var started = await commands.ExecuteCommandAsync(server, KnownResourceCommands.StartCommand, timeout.Token);
            Assert.True(started.Success, $"Starting {server} again: {started.Message}");
            await notifications.WaitForResourceHealthyAsync(server, timeout.Token);
        }

        var finished = await WaitForRunAsync(client, accepted.Id);
        AssertCompleted(finished);
        await using var check = await OpenDatabaseAsync();
        // 4 personas × 5 tasks × 4 questions, each answered once by each of the 2 agents and graded once by each of the 2 judges.
        Assert.Equal(4 * 5 * 4 * 2, await check.Answers.CountAsync(a => a.RunId == accepted.Id));
        Assert.Equal(0, await check.Answers.Where(a => a.RunId == accepted.Id).GroupBy(a => new { a.AgentId, a.QuestionId }).CountAsync(g => g.Count() > 1));
        Assert.Equal(4 * 5 * 4 * 2 * 2, await check.Judgements.CountAsync(j => j.RunId == accepted.Id));
        await AssertScoresEqualRecomputationAsync(client, accepted.Id, pairs: 2 * 4);
    }

    /// <summary>The process ids of a resource's replicas (other than those in <paramref name="except"/>), from the AppHost's own resource snapshots.</summary>
    private async Task<IReadOnlyList<int>> ProcessIdsAsync(string resource, int replicas, IReadOnlyCollection<int>? except = null)
    {
        var notifications = system.App.Services.GetRequiredService<ResourceNotificationService>();
        var pids = new Dictionary<string, int>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await foreach (var resourceEvent in notifications.WatchAsync(timeout.Token))
            {
                if (resourceEvent.Resource.Name != resource) continue;
                var pid = resourceEvent.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value;
                if (pid is not null && int.TryParse(pid.ToString(), out var id) && except?.Contains(id) != true) pids[resourceEvent.ResourceId] = id;
                if (pids.Count == replicas) break;
            }
        }
        catch (OperationCanceledException)
        {
            // Fall through with what was seen; the assertion names the count.
        }

        return pids.Values.ToList();
    }
}
