using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>The reads the web app makes of a run (pages of evidence, one persona, the progress stream) and cancelling.</summary>
[Collection(PostgresServer.Collection)]
public sealed class RunEvidenceTests(ApiHost host) : IClassFixture<ApiHost>
{
    private async Task<Guid> CompletedRunAsync(HttpClient client, string name)
    {
        var response = await client.PostAsJsonAsync("/api/runs", Requests.SmallOfflineRun(name), PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!;
        Assert.Equal(RunStatus.Completed, (await host.WaitUntilSettledAsync(client, $"/api/runs/{accepted.Id}")).Summary.Status);
        return accepted.Id;
    }

    private static async Task<T> GetAsync<T>(HttpClient client, string url)
    {
        var response = await client.GetAsync(url);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<T>(PersonaGymJson.Options))!;
    }

    private static async Task AssertProblemAsync(HttpClient client, HttpMethod method, string url, HttpStatusCode expected)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(method, url));
        Assert.True(expected == response.StatusCode, $"{method} {url}: expected {(int)expected}, got {(int)response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)expected, problem.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Persona_pages_cover_every_persona_once_with_the_scores_of_the_run_report()
    {
        using var client = host.Client();
        var runId = await CompletedRunAsync(client, "evidence-pages");

        var first = await GetAsync<Page<RunPersonaItem>>(client, $"/api/runs/{runId}/personas?limit=2");
        var second = await GetAsync<Page<RunPersonaItem>>(client, $"/api/runs/{runId}/personas?offset=2&limit=2");
        Assert.Equal(3, first.Total);
        Assert.Equal(2, first.Items.Count);
        Assert.Single(second.Items);
        var all = first.Items.Concat(second.Items).ToList();
        Assert.Equal(Requests.ThreePersonas.Order(StringComparer.Ordinal), all.Select(p => p.Persona).Order(StringComparer.Ordinal));

        await using var db = host.Database();
        var report = (await RunReportBuilder.BuildAsync(db, runId))!;
        foreach (var persona in all)
        {
            var score = Assert.Single(persona.Scores);
            Assert.Equal("offline:agent-a", score.Agent);
            var expected = report.Models[0].Personas.Single(p => p.Persona == persona.Persona).Scores;
            Assert.Equal(expected.PersonaScore!.Value, score.PersonaScore!.Value, precision: 9);
            Assert.Equal(expected.Tasks.Select(t => t.Score), score.Tasks.Select(t => t.Score));
        }
    }

    [Fact]
    public async Task A_persona_shows_every_question_with_its_answer_exemplars_and_each_judges_verdict()
    {
        using var client = host.Client();
        var runId = await CompletedRunAsync(client, "evidence-persona");
        var page = await GetAsync<Page<RunPersonaItem>>(client, $"/api/runs/{runId}/personas");
        var persona = page.Items[0];

        var evidence = await GetAsync<PersonaEvidence>(client, $"/api/runs/{runId}/personas/{persona.PersonaId}");
        Assert.Equal(persona.Persona, evidence.Persona);
        Assert.NotEmpty(evidence.Environments);
        Assert.Equal(PersonaTasks.All, evidence.Tasks.Select(t => t.Task));
        Assert.Equal(["offline:judge-1", "offline:judge-2"], evidence.Judges);
        foreach (var task in evidence.Tasks)
        {
            Assert.Equal(2, task.Questions.Count);
            foreach (var question in task.Questions)
            {
                // The offline question writer sets each question in one of the persona's environments, by name.
                var environment = Assert.Single(question.Environments);
                Assert.Contains(environment, evidence.Environments);
                Assert.Contains(environment, question.Text, StringComparison.OrdinalIgnoreCase);
                Assert.Equal([1, 2, 3, 4, 5], question.Exemplars.Select(e => e.Score));
                var answer = Assert.Single(question.Answers);
                Assert.False(string.IsNullOrWhiteSpace(answer.Text));
                Assert.Equal(evidence.Judges, answer.Verdicts.Select(v => v.Judge));
                Assert.All(answer.Verdicts, v => Assert.False(string.IsNullOrWhiteSpace(v.RawText)));
                Assert.Equal(answer.Verdicts.Where(v => v.Score is not null).Average(v => (double)v.Score!.Value), answer.JudgeMean!.Value, precision: 9);
            }
        }

        Assert.Equal(persona.Scores[0].PersonaScore, evidence.Scores[0].PersonaScore);
    }

    [Fact]
    public async Task Question_answer_and_verdict_pages_count_the_whole_run_and_filter_by_task_and_judge()
    {
        using var client = host.Client();
        var runId = await CompletedRunAsync(client, "evidence-lists");

        // 3 personas × 5 tasks × 2 questions; one model under test; two judges.
        Assert.Equal(30, (await GetAsync<Page<QuestionItem>>(client, $"/api/runs/{runId}/questions?limit=1")).Total);
        var answers = await GetAsync<Page<AnswerItem>>(client, $"/api/runs/{runId}/answers?limit=500");
        Assert.Equal(30, answers.Total);
        Assert.Equal(30, answers.Items.Select(a => a.AnswerId).Distinct().Count());
        Assert.Equal(60, (await GetAsync<Page<VerdictItem>>(client, $"/api/runs/{runId}/verdicts?limit=7")).Total);

        var expectedAction = await GetAsync<Page<AnswerItem>>(client, $"/api/runs/{runId}/answers?task=expected-action&limit=500");
        Assert.Equal(6, expectedAction.Total);
        Assert.All(expectedAction.Items, a => Assert.Equal(PersonaTask.ExpectedAction, a.Task));
        var oneJudge = await GetAsync<Page<VerdictItem>>(client, $"/api/runs/{runId}/verdicts?judge=offline:judge-2&limit=500");
        Assert.Equal(30, oneJudge.Total);
        Assert.All(oneJudge.Items, v => Assert.Equal("offline:judge-2", v.Judge));

        // Pages do not overlap and together hold every verdict.
        var pages = new List<VerdictItem>();
        for (var offset = 0; offset < 60; offset += 25)
            pages.AddRange((await GetAsync<Page<VerdictItem>>(client, $"/api/runs/{runId}/verdicts?offset={offset}&limit=25")).Items);
        Assert.Equal(60, pages.Select(v => v.JudgementId).Distinct().Count());
        Assert.Empty((await GetAsync<Page<VerdictItem>>(client, $"/api/runs/{runId}/verdicts?offset=60")).Items);
    }

    [Fact]
    public async Task Bad_ids_bounds_and_filters_are_answered_with_problem_details_never_a_server_error()
    {
        using var client = host.Client();
        var runId = await CompletedRunAsync(client, "evidence-bad-input");
        var unknown = Guid.NewGuid();

        foreach (var list in new[] { "personas", "questions", "answers", "verdicts" })
        {
            await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{unknown}/{list}", HttpStatusCode.NotFound);
            await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/not-a-guid/{list}", HttpStatusCode.NotFound);
            await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/{list}?limit=0", HttpStatusCode.BadRequest);
            await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/{list}?limit={PageRequest.MaxLimit + 1}", HttpStatusCode.BadRequest);
            await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/{list}?offset=-1", HttpStatusCode.BadRequest);
            await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/{list}?offset=many", HttpStatusCode.BadRequest);
            await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/{list}?limit=99999999999999", HttpStatusCode.BadRequest);
        }

        foreach (var list in new[] { "questions", "answers", "verdicts" })
            await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/{list}?task=cooking", HttpStatusCode.BadRequest);
        await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/verdicts?parseFailures=perhaps", HttpStatusCode.BadRequest);
        await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/answers?persona=someone", HttpStatusCode.BadRequest);

        await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{runId}/personas/{unknown}", HttpStatusCode.NotFound);
        await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{unknown}/personas/{unknown}", HttpStatusCode.NotFound);
        await AssertProblemAsync(client, HttpMethod.Get, $"/api/runs/{unknown}/progress", HttpStatusCode.NotFound);
        await AssertProblemAsync(client, HttpMethod.Post, $"/api/runs/{unknown}/cancel", HttpStatusCode.NotFound);
        // A finished run cannot be cancelled, and saying so changes nothing.
        await AssertProblemAsync(client, HttpMethod.Post, $"/api/runs/{runId}/cancel", HttpStatusCode.Conflict);
        Assert.Equal(RunStatus.Completed, (await GetAsync<RunDetails>(client, $"/api/runs/{runId}")).Summary.Status);
    }

    private static async Task<List<RunProgressSnapshot>> ReadProgressAsync(HttpClient client, Guid runId, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var response = await client.GetAsync($"/api/runs/{runId}/progress", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel.Token);
        var snapshots = new List<RunProgressSnapshot>();
        await foreach (var item in SseParser.Create(stream, (type, data) => type == "progress"
                           ? JsonSerializer.Deserialize<RunProgressSnapshot>(data, PersonaGymJson.Options)
                           : null).EnumerateAsync(cancel.Token))
        {
            if (item.Data is { } snapshot) snapshots.Add(snapshot);
        }

        return snapshots;
    }

    [Fact]
    public async Task The_progress_stream_follows_a_run_stage_by_stage_and_ends_when_it_completes()
    {
        using var client = host.Client();
        var request = Requests.SmallOfflineRun("evidence-stream", agent: "offline:agent-streamed");
        var response = await client.PostAsJsonAsync("/api/runs", request, PersonaGymJson.Options);
        var accepted = (await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!;

        var snapshots = await ReadProgressAsync(client, accepted.Id, TimeSpan.FromMinutes(3));

        Assert.NotEmpty(snapshots);
        var last = snapshots[^1];
        Assert.True(last.Settled);
        Assert.Equal(RunStatus.Completed, last.Summary.Status);
        Assert.All(snapshots[..^1], s => Assert.False(s.Settled));
        Assert.Equal(MethodStages.All, last.Stages.Select(s => s.Stage));
        var judging = last.Stages.Single(s => s.Stage == MethodStages.Judge);
        Assert.Equal(15, judging.Total); // 3 personas × 5 tasks × one batch × one model
        Assert.Equal(15, judging.Done);
        Assert.True(judging.PerMinute > 0);
        Assert.Null(judging.Remaining);
        // Counts never go backwards.
        for (var i = 1; i < snapshots.Count; i++)
            Assert.True(snapshots[i].Summary.Judgements >= snapshots[i - 1].Summary.Judgements);

        // A settled run's stream is one event.
        Assert.Single(await ReadProgressAsync(client, accepted.Id, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_cancelled_run_stays_cancelled_and_resume_completes_it()
    {
        using var client = host.Client();
        var request = Requests.SmallOfflineRun("evidence-cancel", agent: "offline:agent-cancelled") with { QuestionsPerTask = 10 };
        var response = await client.PostAsJsonAsync("/api/runs", request, PersonaGymJson.Options);
        var accepted = (await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!;

        var cancel = await client.PostAsync($"/api/runs/{accepted.Id}/cancel", null);
        if (cancel.StatusCode == HttpStatusCode.Conflict)
        {
            // The run finished before the request arrived: nothing to cancel, and nothing changed.
            Assert.Equal(RunStatus.Completed, (await GetAsync<RunDetails>(client, $"/api/runs/{accepted.Id}")).Summary.Status);
            return;
        }

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal(RunStatus.Cancelled, (await cancel.Content.ReadFromJsonAsync<RunCancelled>(PersonaGymJson.Options))!.Status);
        var stream = await ReadProgressAsync(client, accepted.Id, TimeSpan.FromSeconds(30));
        Assert.Equal(RunStatus.Cancelled, Assert.Single(stream).Summary.Status);

        var resume = await client.PostAsJsonAsync($"/api/runs/{accepted.Id}/resume", new RunResumeRequest(null, null), PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        var completed = await host.WaitUntilSettledAsync(client, $"/api/runs/{accepted.Id}");
        Assert.Equal(RunStatus.Completed, completed.Summary.Status);
        Assert.Equal(3 * 5 * 10 * 2, completed.Summary.Judgements);
    }
}
