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
    /// <summary>A system of its own: one of its judge replicas gets killed.</summary>
    public sealed class SystemFixture : IAsyncLifetime
    {
        private readonly LocalInfrastructureAppFixture _inner = new();

        public DistributedApplication App => _inner.App;

        public Task InitializeAsync() => _inner.InitializeAsync();

        public Task DisposeAsync() => _inner.DisposeAsync();

        public string DescribeResources() => _inner.DescribeResources();

        public HttpClient ApiClient() => _inner.ApiClient();
    }

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    private async Task<PersonaGymDbContext> OpenDatabaseAsync()
    {
        var connectionString = await system.App.GetConnectionStringAsync("personagym");
        return PersonaGymDatabase.CreateDbContext(new DatabaseConnection(DatabaseProvider.Postgres, connectionString!));
    }

    private static RunRequest Request(string name, int personas, int questionsPerTask) => new()
    {
        Name = name,
        Personas = Enumerable.Range(1, personas)
            .Select(i => $"A {30 + i}-year-old {name} tester number {i} who grows tomatoes and argues about football").ToList(),
        Agents = ["offline:agent-a", "offline:agent-b"],
        Judges = ["offline:judge-1", "offline:judge-2"],
        QuestionsPerTask = questionsPerTask,
    };

    private async Task<RunSummaryStatus> WaitForRunAsync(ServerClient client, Guid runId)
    {
        using var timeout = new CancellationTokenSource(RunTimeout);
        RunSummary? summary = null;
        try
        {
            while (true)
            {
                summary = await client.SummaryAsync(runId, timeout.Token);
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

        var accepted = await client.SubmitAsync(Request("distributed", personas: 3, questionsPerTask: 2), CancellationToken.None);
        var finished = await WaitForRunAsync(client, accepted.Id);

        AssertCompleted(finished);
        var report = await client.ReportAsync(accepted.Id, CancellationToken.None);
        Assert.True(report.Offline);

        await using var db = await OpenDatabaseAsync();
        // 3 personas × 5 tasks × 2 questions, answered by 2 agents, each answer graded by 2 judges.
        Assert.Equal(3 * 10 * 2, await db.Answers.CountAsync(a => a.RunId == accepted.Id));
        Assert.Equal(3 * 10 * 2 * 2, await db.Judgements.CountAsync(j => j.RunId == accepted.Id));

        var judgements = await db.Judgements.AsNoTracking().Where(j => j.RunId == accepted.Id)
            .Select(j => new { Agent = j.Answer.Agent.Spec, Persona = j.Answer.Question.QuestionSetPersona.Persona.Text, j.Answer.Question.Task, j.Answer.Question.BatchId, Judge = j.Judge.Spec, j.Score })
            .ToListAsync();
        foreach (var model in report.Models)
        {
            foreach (var persona in model.Personas)
            {
                var taskScores = PersonaTasks.All.Select(task => judgements
                        .Where(j => j.Agent == model.Agent && j.Persona == persona.Persona && j.Task == task)
                        .GroupBy(j => j.BatchId)
                        .Select(b => b.GroupBy(j => j.Judge).Select(g => g.Where(j => j.Score != null).Average(j => (double)j.Score!.Value)).Average())
                        .Average())
                    .ToList();
                for (var t = 0; t < taskScores.Count; t++)
                    Assert.Equal(taskScores[t], persona.Scores[PersonaTasks.All[t]].Score!.Value, precision: 9);
                Assert.Equal(taskScores.Average(), persona.Scores.PersonaScore!.Value, precision: 9);
            }
        }
    }

    [Fact]
    public async Task Killing_a_judge_replica_mid_run_still_completes_with_one_judgement_per_answer_and_judge()
    {
        var client = new ServerClient(system.ApiClient());
        var judges = await ProcessIdsAsync("judge", 2);
        Assert.Equal(2, judges.Count);

        var accepted = await client.SubmitAsync(Request("replica-kill", personas: 8, questionsPerTask: 5), CancellationToken.None);

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

        var finished = await WaitForRunAsync(client, accepted.Id);
        AssertCompleted(finished);

        await using var check = await OpenDatabaseAsync();
        var answers = await check.Answers.CountAsync(a => a.RunId == accepted.Id);
        Assert.Equal(8 * 5 * 5 * 2, answers);
        Assert.Equal(answers * 2, await check.Judgements.CountAsync(j => j.RunId == accepted.Id));
        Assert.Equal(0, await check.Judgements.Where(j => j.RunId == accepted.Id)
            .GroupBy(j => new { j.AnswerId, j.JudgeId }).CountAsync(g => g.Count() > 1));
    }

    [Fact]
    public async Task Two_agent_runner_replicas_complete_a_run_with_no_answer_lost_or_duplicated()
    {
        var client = new ServerClient(system.ApiClient());
        var runners = await ProcessIdsAsync("agent-runner", 2);
        Assert.Equal(2, runners.Count);
        Assert.All(runners, pid => Assert.False(Process.GetProcessById(pid).HasExited));

        var accepted = await client.SubmitAsync(Request("agent-replicas", personas: 3, questionsPerTask: 3), CancellationToken.None);
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
    }

    [Fact]
    public async Task Killing_every_agent_runner_mid_run_restarts_them_and_the_run_completes_without_duplicates()
    {
        var client = new ServerClient(system.ApiClient());
        var runners = await ProcessIdsAsync("agent-runner", 2);

        var accepted = await client.SubmitAsync(Request("agent-runner-kill", personas: 4, questionsPerTask: 3), CancellationToken.None);
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

        // Nothing but the AppHost's restart brings an agent-runner back; without one the run cannot finish.
        var finished = await WaitForRunAsync(client, accepted.Id);
        AssertCompleted(finished);
        Assert.NotEmpty(await ProcessIdsAsync("agent-runner", 1, except: runners));

        await using var check = await OpenDatabaseAsync();
        var answers = await check.Answers.CountAsync(a => a.RunId == accepted.Id);
        Assert.Equal(4 * 5 * 3 * 2, answers);
        Assert.Equal(0, await check.Answers.Where(a => a.RunId == accepted.Id).GroupBy(a => new { a.AgentId, a.QuestionId }).CountAsync(g => g.Count() > 1));
        Assert.Equal(answers * 2, await check.Judgements.CountAsync(j => j.RunId == accepted.Id));
    }

    [Fact]
    public async Task Killing_every_question_generator_mid_run_restarts_them_and_the_run_completes_without_duplicates()
    {
        var client = new ServerClient(system.ApiClient());
        // Two replicas by default, like every stage.
        var generators = await ProcessIdsAsync("question-generator", 2);
        Assert.Equal(2, generators.Count);

        var accepted = await client.SubmitAsync(Request("question-generator-kill", personas: 3, questionsPerTask: 2), CancellationToken.None);
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

        // Nothing but the AppHost's restart brings a question-generator back; without one no question is written.
        var finished = await WaitForRunAsync(client, accepted.Id);
        AssertCompleted(finished);
        Assert.NotEmpty(await ProcessIdsAsync("question-generator", 1, except: generators));

        await using var check = await OpenDatabaseAsync();
        var setId = await check.Runs.Where(r => r.Id == accepted.Id).Select(r => r.QuestionSetId).SingleAsync();
        var questions = check.Questions.Where(q => q.QuestionSetPersona.QuestionSetId == setId);
        Assert.Equal(3 * 5 * 2, await questions.CountAsync());
        Assert.Equal(0, await questions.GroupBy(q => new { q.BatchId, q.Ordinal }).CountAsync(g => g.Count() > 1));
        var answers = await check.Answers.CountAsync(a => a.RunId == accepted.Id);
        Assert.Equal(3 * 5 * 2 * 2, answers);
        Assert.Equal(0, await check.Answers.Where(a => a.RunId == accepted.Id).GroupBy(a => new { a.AgentId, a.QuestionId }).CountAsync(g => g.Count() > 1));
        Assert.Equal(answers * 2, await check.Judgements.CountAsync(j => j.RunId == accepted.Id));
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
