using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Core;
using PersonaGym.Core.Statistics;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>The run overview, the dry-run estimate and rating answers by hand: what the web app's pages call.</summary>
[Collection(PostgresServer.Collection)]
public sealed class WebReadsTests(ApiHost host) : IClassFixture<ApiHost>
{
    private async Task<Guid> CompletedRunAsync(HttpClient client, string name, string agent = "offline:agent-a")
    {
        var response = await client.PostAsJsonAsync("/api/runs", Requests.SmallOfflineRun(name, agent: agent), PersonaGymJson.Options);
        var accepted = (await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!;
        Assert.Equal(RunStatus.Completed, (await host.WaitUntilSettledAsync(client, $"/api/runs/{accepted.Id}")).Summary.Status);
        return accepted.Id;
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task The_overview_lists_a_finished_run_with_its_question_set_full_progress_and_usage()
    {
        using var client = host.Client();
        var runId = await CompletedRunAsync(client, "overview-run");
        var runs = await client.GetFromJsonAsync<List<RunOverviewItem>>("/api/runs/overview", PersonaGymJson.Options);
        var run = Assert.Single(runs!, r => r.Id == runId);
        Assert.Equal(["offline:agent-a"], run.Agents);
        Assert.Equal(["offline:judge-1", "offline:judge-2"], run.Judges);
        Assert.Equal(3, run.Personas);
        Assert.Equal(15, run.BatchesPlanned);
        Assert.Equal(15, run.BatchesJudged);
        Assert.Equal(1.0, run.Progress);
        var details = await client.GetFromJsonAsync<RunDetails>($"/api/runs/{runId}", PersonaGymJson.Options);
        Assert.Equal(details!.Summary.Usage.Calls, run.Calls);
        Assert.Equal(details.Summary.Usage.InputTokens, run.InputTokens);
        Assert.StartsWith("run-", run.QuestionSet, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_estimate_stores_nothing_and_keys_each_problem_by_its_field()
    {
        using var client = host.Client();
        var before = await host.RunCountAsync();
        var good = await client.PostAsJsonAsync("/api/runs/estimate", Requests.SmallOfflineRun("estimate-good"), PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        var estimate = (await good.Content.ReadFromJsonAsync<RunEstimate>(PersonaGymJson.Options))!;
        Assert.Equal(3, estimate.Personas);
        Assert.Equal(15, estimate.ExpectedBatches);
        Assert.Equal(estimate.Lines.Sum(l => l.Calls), estimate.Calls);
        Assert.True(estimate.Calls > 0);

        var bad = Requests.SmallOfflineRun("estimate-bad") with
        {
            Personas = [Requests.ThreePersonas[0], Requests.ThreePersonas[0]],
            Agents = ["not-a-spec"],
            QuestionsPerTask = 0,
            MaxCalls = -1,
        };
        var problem = await ProblemAsync(await client.PostAsJsonAsync("/api/runs/estimate", bad, PersonaGymJson.Options), HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.Contains("not-a-spec", errors.GetProperty("agents[0]")[0].GetString());
        Assert.StartsWith("questions per task", errors.GetProperty("questionsPerTask")[0].GetString());
        Assert.True(errors.TryGetProperty("maxCalls", out _));
        Assert.Contains("duplicate", errors.GetProperty("personas[1]")[0].GetString());

        await ProblemAsync(await client.PostAsync("/api/runs/estimate", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.PostAsync("/api/runs/estimate", new StringContent("""{"personas": null}""", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Equal(before, await host.RunCountAsync());
    }

    [Fact]
    public async Task Ratings_are_stored_per_rater_and_agree_with_the_judges_as_calibrate_computes_it()
    {
        using var client = host.Client();
        var runId = await CompletedRunAsync(client, "ratings-run", agent: "offline:agent-rated");

        var sample = (await client.GetFromJsonAsync<RatingSample>($"/api/runs/{runId}/ratings/sample?rater=ana&size=10", PersonaGymJson.Options))!;
        Assert.Equal(10, sample.Items.Count);
        Assert.Equal(10, sample.Items.Select(i => i.AnswerId).Distinct().Count());
        // Stratified: ten items over five tasks are two per task; and the same sample for every rater.
        Assert.All(sample.Items.GroupBy(i => i.Task), g => Assert.Equal(2, g.Count()));
        Assert.All(sample.Items, i => Assert.Equal(5, i.Rubric.Count));
        var other = (await client.GetFromJsonAsync<RatingSample>($"/api/runs/{runId}/ratings/sample?rater=ben&size=10", PersonaGymJson.Options))!;
        Assert.Equal(sample.Items.Select(i => i.AnswerId), other.Items.Select(i => i.AnswerId));

        // Ana rates as the judges' mean suggests, rounded; rating twice replaces.
        var judged = (await client.GetFromJsonAsync<Page<VerdictItem>>($"/api/runs/{runId}/verdicts?limit=500", PersonaGymJson.Options))!.Items;
        foreach (var item in sample.Items)
        {
            var mean = judged.Where(v => v.AnswerId == item.AnswerId && v.Score is not null).Average(v => (double)v.Score!.Value);
            Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{item.AnswerId}", new RatingRequest("ana", 1), PersonaGymJson.Options)).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{item.AnswerId}", new RatingRequest("ana", (int)Math.Round(mean)), PersonaGymJson.Options)).StatusCode);
        }

        var again = (await client.GetFromJsonAsync<RatingSample>($"/api/runs/{runId}/ratings/sample?rater=ana&size=10", PersonaGymJson.Options))!;
        Assert.Equal(10, again.Rated);
        Assert.Equal(0, (await client.GetFromJsonAsync<RatingSample>($"/api/runs/{runId}/ratings/sample?rater=ben&size=10", PersonaGymJson.Options))!.Rated);

        var agreement = (await client.GetFromJsonAsync<RatingAgreement>($"/api/runs/{runId}/ratings/agreement", PersonaGymJson.Options))!;
        Assert.Equal([new RaterCount("ana", 10)], agreement.Raters);
        var calibration = Assert.Single(agreement.Agents);
        Assert.Equal("offline:agent-rated", calibration.Agent);
        Assert.Equal(10, calibration.Report.Overall.Matched);

        // The export is calibrate's input, and calibrating it gives the same figures.
        var csv = await client.GetStringAsync($"/api/runs/{runId}/ratings/export");
        var (scores, errors) = HumanScoreFile.Parse(csv, "export");
        Assert.Empty(errors);
        Assert.Equal(10, scores.Count);
        await using var db = host.Database();
        var agentId = db.RunModels.Single(m => m.RunId == runId && m.Role == RunModelRole.Agent).Id;
        var answers = await JudgedAnswers.ForAgentAsync(db, runId, agentId, CancellationToken.None);
        var recomputed = Calibration.Compare(scores, answers.Select(a => (a.Persona, a.Task, a.Question, a.JudgeMean)));
        Assert.Equal(recomputed.Overall.Spearman, calibration.Report.Overall.Spearman);
        Assert.Equal(recomputed.Overall.KendallTauB, calibration.Report.Overall.KendallTauB);
    }

    [Fact]
    public async Task The_rating_sample_is_balanced_over_the_models_within_each_task_and_names_none_of_them()
    {
        using var client = host.Client();
        var request = Requests.SmallOfflineRun("ratings-two-models") with { Agents = ["offline:agent-strata-a", "offline:agent-strata-b"] };
        var response = await client.PostAsJsonAsync("/api/runs", request, PersonaGymJson.Options);
        var runId = (await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!.Id;
        Assert.Equal(RunStatus.Completed, (await host.WaitUntilSettledAsync(client, $"/api/runs/{runId}")).Summary.Status);
        await using var db = host.Database();
        var agentOf = await db.Answers.Where(a => a.RunId == runId).Select(a => new { a.Id, a.Agent.Spec }).ToDictionaryAsync(a => a.Id, a => a.Spec);
        // 3 personas × 2 questions: each task has 6 answers of each model.
        Assert.Equal(2 * 5 * 6, agentOf.Count);

        var samples = new Dictionary<int, RatingSample>();
        foreach (var size in new[] { 10, 30 })
        {
            var json = await client.GetStringAsync($"/api/runs/{runId}/ratings/sample?rater=ana&size={size}");
            // Blind: neither model is named anywhere in what the rater is sent.
            Assert.DoesNotContain("agent-strata", json, StringComparison.Ordinal);
            var sample = JsonSerializer.Deserialize<RatingSample>(json, PersonaGymJson.Options)!;
            Assert.Equal(size, sample.Items.Select(i => i.AnswerId).Distinct().Count());
            // Per task the same number, and within each task as many of one model's answers as of the other's.
            Assert.All(sample.Items.GroupBy(i => i.Task), task =>
            {
                Assert.Equal(size / 5, task.Count());
                var perModel = task.GroupBy(i => agentOf[i.AnswerId]).ToDictionary(g => g.Key, g => g.Count());
                Assert.Equal(size / 10, perModel.GetValueOrDefault("offline:agent-strata-a"));
                Assert.Equal(size / 10, perModel.GetValueOrDefault("offline:agent-strata-b"));
            });
            samples[size] = sample;
        }

        // Deterministic: the same answers in the same order for another rater and another time, and a larger sample
        // holds the smaller one, so a rater who stops and continues (or asks for more) keeps their place.
        var again = (await client.GetFromJsonAsync<RatingSample>($"/api/runs/{runId}/ratings/sample?rater=ben&size=10", PersonaGymJson.Options))!;
        Assert.Equal(samples[10].Items.Select(i => i.AnswerId), again.Items.Select(i => i.AnswerId));
        Assert.Equal(samples[10].Items.Select(i => i.AnswerId), samples[30].Items.Select(i => i.AnswerId).Where(samples[10].Items.Select(i => i.AnswerId).Contains));
    }

    [Fact]
    public async Task The_leaderboard_gives_a_models_PersonaScore_its_95_percent_interval_over_personas_and_none_for_one_persona()
    {
        using var client = host.Client();
        var three = await CompletedRunAsync(client, "board-three-personas", agent: "offline:agent-board-ci");
        var oneRequest = Requests.SmallOfflineRun("board-one-persona", agent: "offline:agent-board-one") with { Personas = [Requests.ThreePersonas[0]] };
        var oneResponse = await client.PostAsJsonAsync("/api/runs", oneRequest, PersonaGymJson.Options);
        var one = (await oneResponse.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!.Id;
        Assert.Equal(RunStatus.Completed, (await host.WaitUntilSettledAsync(client, $"/api/runs/{one}")).Summary.Status);

        var json = JsonDocument.Parse(await client.GetStringAsync("/api/leaderboard")).RootElement;
        var board = json.Deserialize<List<LeaderboardEntry>>(PersonaGymJson.Options)!;

        // Student's t over the three personas' PersonaScores, as the personas read gives them: t(0.975, 2) = 4.3027.
        var entry = Assert.Single(board, e => e.RunId == three);
        var personas = (await client.GetFromJsonAsync<Page<RunPersonaItem>>($"/api/runs/{three}/personas?limit=500", PersonaGymJson.Options))!.Items;
        var scores = personas.Select(p => p.Scores[0].PersonaScore!.Value).ToList();
        Assert.Equal(3, scores.Count);
        var mean = scores.Average();
        var half = 4.302652729911275 * Math.Sqrt(scores.Sum(x => (x - mean) * (x - mean)) / 2 / 3);
        Assert.Equal(mean, entry.PersonaScore!.Value, precision: 9);
        var interval = entry.PersonaScoreInterval!;
        Assert.Equal(mean - half, interval.Low, precision: 9);
        Assert.Equal(mean + half, interval.High, precision: 9);
        Assert.InRange(entry.PersonaScore.Value, interval.Low, interval.High);

        // One persona has a mean but no interval: the field is there, and null.
        var single = Assert.Single(board, e => e.RunId == one);
        Assert.Equal(1, single.PersonasWithScore);
        Assert.NotNull(single.PersonaScore);
        var singleJson = json.EnumerateArray().Single(e => e.GetProperty("runId").GetGuid() == one);
        Assert.Equal(JsonValueKind.Null, singleJson.GetProperty("personaScoreInterval").ValueKind);
    }

    [Fact]
    public async Task The_leaderboards_reference_rows_are_the_published_scores_stored_with_the_question_set()
    {
        using var client = host.Client();
        var runId = await CompletedRunAsync(client, "board-reference", agent: "offline:agent-board-ref");
        var setId = (await client.GetFromJsonAsync<List<LeaderboardEntry>>("/api/leaderboard", PersonaGymJson.Options))!.Single(e => e.RunId == runId).QuestionSetId;

        // What `personagym benchmark import` does with a benchmark's published-scores/ folder: read it, store it with the set.
        var folder = Directory.CreateTempSubdirectory("personagym-published-");
        try
        {
            var published = Directory.CreateDirectory(Path.Combine(folder.FullName, PersonaGym.Core.Benchmark.BenchmarkFormat.PublishedScoresFolder));
            File.WriteAllText(Path.Combine(published.FullName, "20240710_gpt_35.json"),
                """{"Action Justification": 4.31, "Expected Action": 4.28, "Linguistic Habits": 3.63, "Persona Consistency": 4.7, "Toxicity Control": 4.96, "PersonaScore": 4.38}""");
            // A file without some figures: those are null, not zero.
            File.WriteAllText(Path.Combine(published.FullName, "llama_2_13b.json"), """{"Expected Action": 3.9, "PersonaScore": 4.01}""");
            var (scores, issues) = PersonaGym.Core.Benchmark.BenchmarkFormat.ReadPublishedScores(folder.FullName);
            Assert.Empty(issues);
            var catalog = host.Factory.Services.GetRequiredService<PersonaGym.Pipeline.QuestionSets.QuestionSetCatalog>();
            Assert.Equal(6 + 2, await catalog.StoreReferenceScoresAsync(setId, scores));
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        var json = JsonDocument.Parse(await client.GetStringAsync("/api/leaderboard/reference")).RootElement;
        var rows = json.EnumerateArray().Where(r => r.GetProperty("questionSetId").GetGuid() == setId).ToList();
        // Best PersonaScore first, each task under the paper's name.
        Assert.Equal(["20240710_gpt_35", "llama_2_13b"], rows.Select(r => r.GetProperty("model").GetString()));
        Assert.Equal(4.38, rows[0].GetProperty("personaScore").GetDouble());
        var tasks = rows[0].GetProperty("tasks");
        Assert.Equal(PersonaTasks.All.Select(t => t.DisplayName()).Order(StringComparer.Ordinal), tasks.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(4.7, tasks.GetProperty("Persona Consistency").GetDouble());
        Assert.Equal(3.63, tasks.GetProperty("Linguistic Habits").GetDouble());
        Assert.Equal(4.01, rows[1].GetProperty("personaScore").GetDouble());
        Assert.Equal(3.9, rows[1].GetProperty("tasks").GetProperty("Expected Action").GetDouble());
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("tasks").GetProperty("Toxicity Control").ValueKind);
    }

    [Fact]
    public async Task Bad_ratings_are_refused_with_problem_details_and_store_nothing()
    {
        using var client = host.Client();
        var runId = await CompletedRunAsync(client, "ratings-bad", agent: "offline:agent-rated-badly");
        var answer = (await client.GetFromJsonAsync<RatingSample>($"/api/runs/{runId}/ratings/sample?rater=ana&size=1", PersonaGymJson.Options))!.Items[0].AnswerId;

        await ProblemAsync(await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answer}", new RatingRequest("ana", 6), PersonaGymJson.Options), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answer}", new RatingRequest("ana", 0), PersonaGymJson.Options), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answer}", new RatingRequest(" ", 3), PersonaGymJson.Options), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answer}", new RatingRequest(new string('r', 201), 3), PersonaGymJson.Options), HttpStatusCode.BadRequest);
        // A name of one line: PostgreSQL cannot store NUL (this was a 500), and no other control character is stored either.
        await ProblemAsync(await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answer}", new RatingRequest("ana\u0000", 3), PersonaGymJson.Options), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answer}", new RatingRequest("ana\u001b[31m", 3), PersonaGymJson.Options), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.GetAsync($"/api/runs/{runId}/ratings/sample?rater=ana%00"), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.PutAsJsonAsync($"/api/runs/{runId}/ratings/{Guid.NewGuid()}", new RatingRequest("ana", 3), PersonaGymJson.Options), HttpStatusCode.NotFound);
        await ProblemAsync(await client.PutAsJsonAsync($"/api/runs/{Guid.NewGuid()}/ratings/{answer}", new RatingRequest("ana", 3), PersonaGymJson.Options), HttpStatusCode.NotFound);
        await ProblemAsync(await client.PutAsync($"/api/runs/{runId}/ratings/{answer}", new StringContent("[1,2]", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.GetAsync($"/api/runs/{runId}/ratings/sample?size=3"), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.GetAsync($"/api/runs/{runId}/ratings/sample?rater=ana&size=0"), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.GetAsync($"/api/runs/{runId}/ratings/sample?rater=ana&size=501"), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.GetAsync($"/api/runs/{Guid.NewGuid()}/ratings/sample?rater=ana"), HttpStatusCode.NotFound);
        await ProblemAsync(await client.GetAsync($"/api/runs/{Guid.NewGuid()}/ratings/agreement"), HttpStatusCode.NotFound);
        await ProblemAsync(await client.GetAsync($"/api/runs/{runId}/ratings/export?agent=offline:nobody"), HttpStatusCode.BadRequest);

        var agreement = (await client.GetFromJsonAsync<RatingAgreement>($"/api/runs/{runId}/ratings/agreement", PersonaGymJson.Options))!;
        Assert.Empty(agreement.Raters);
        Assert.Empty(agreement.Agents);
    }
    [Fact]
    public async Task A_rater_name_belongs_to_the_sign_in_that_first_rated_under_it()
    {
        using var owner = host.Client();
        using var other = host.ClientWith(await host.CreateKeyAsync("another-rater", ApiKeyRole.Reader));
        var runId = await CompletedRunAsync(owner, "ratings-owned", agent: "offline:agent-rated-owned");
        var answers = (await owner.GetFromJsonAsync<RatingSample>($"/api/runs/{runId}/ratings/sample?rater=rosa&size=2", PersonaGymJson.Options))!.Items;
        // Reading a sample claims no name: anyone may read an unclaimed one, until someone rates under it.
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync($"/api/runs/{runId}/ratings/sample?rater=rosa&size=2")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answers[0].AnswerId}", new RatingRequest("rosa", 2), PersonaGymJson.Options)).StatusCode);

        var taken = await ProblemAsync(await other.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answers[0].AnswerId}", new RatingRequest("rosa", 5), PersonaGymJson.Options), HttpStatusCode.Conflict);
        Assert.Contains("'rosa' belongs to another sign-in", taken.GetProperty("detail").GetString());
        await ProblemAsync(await other.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answers[1].AnswerId}", new RatingRequest(" rosa ", 5), PersonaGymJson.Options), HttpStatusCode.Conflict);
        await ProblemAsync(await other.GetAsync($"/api/runs/{runId}/ratings/sample?rater=rosa"), HttpStatusCode.Conflict);

        // Their own name works for them, and the owner still rates (and re-rates) as before.
        Assert.Equal(HttpStatusCode.NoContent, (await other.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answers[0].AnswerId}", new RatingRequest("tomas", 5), PersonaGymJson.Options)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answers[0].AnswerId}", new RatingRequest("rosa", 3), PersonaGymJson.Options)).StatusCode);
        await ProblemAsync(await owner.PutAsJsonAsync($"/api/runs/{runId}/ratings/{answers[1].AnswerId}", new RatingRequest("tomas", 1), PersonaGymJson.Options), HttpStatusCode.Conflict);

        await using var db = host.Database();
        var stored = await db.HumanRatings.Where(r => r.RunId == runId).OrderBy(r => r.Rater).Select(r => r.Rater + "=" + r.Score).ToListAsync();
        Assert.Equal(["rosa=3", "tomas=5"], stored);
    }
}
