using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Reports;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

[Collection(PostgresServer.Collection)]
public sealed class RunLifecycleTests(ApiHost host) : IClassFixture<ApiHost>
{
    private async Task<(HttpResponseMessage Response, RunAccepted Accepted)> SubmitAsync(HttpClient client, RunRequest request)
    {
        var response = await client.PostAsJsonAsync("/api/runs", request, PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options);
        return (response, accepted!);
    }

    [Fact]
    public async Task A_submitted_run_is_accepted_completes_and_reports_scores_recomputed_from_the_stored_judgements()
    {
        using var client = host.Client();
        var (response, accepted) = await SubmitAsync(client, Requests.SmallOfflineRun("api-end-to-end"));

        Assert.Equal($"/api/runs/{accepted.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal("api-end-to-end", accepted.Name);
        Assert.Equal(3, accepted.Personas);
        Assert.True(accepted.UsesOfflineModels);
        Assert.Equal(ReportText.OfflineDisclaimer, accepted.Disclaimer);
        Assert.Equal(3 * 5 * 1, accepted.ExpectedBatches); // 5 tasks × ⌈2/5⌉ batch × 1 model, per persona
        Assert.NotEmpty(accepted.Estimate!);

        var details = await host.WaitUntilSettledAsync(client, response.Headers.Location!.OriginalString);
        Assert.Equal(RunStatus.Completed, details.Summary.Status);
        Assert.Empty(details.Problems);
        Assert.Equal(ReportText.OfflineDisclaimer, details.Disclaimer);
        Assert.Equal(3, details.Summary.Personas.Completed);
        Assert.Equal(3 * 5 * 2 * 2, details.Summary.Judgements);

        var results = await client.GetAsync($"/api/runs/{accepted.Id}/results");
        Assert.Equal(HttpStatusCode.OK, results.StatusCode);
        using var report = JsonDocument.Parse(await results.Content.ReadAsStringAsync());
        Assert.Equal(ReportText.OfflineDisclaimer, report.RootElement.GetProperty("disclaimer").GetString());

        await using var db = host.Database();
        var judgements = await db.Judgements.AsNoTracking().Where(j => j.RunId == accepted.Id)
            .Select(j => new
            {
                Agent = j.Answer.Agent.Spec, Persona = j.Answer.Question.QuestionSetPersona.Persona.Text, j.Answer.Question.Task,
                j.Answer.Question.BatchId, Judge = j.Judge.Spec, j.Score,
            })
            .ToListAsync();
        var model = Assert.Single(report.RootElement.GetProperty("models").EnumerateArray().ToList());
        Assert.Equal("offline:agent-a", model.GetProperty("agent").GetString());
        var personas = model.GetProperty("personas").EnumerateArray().ToList();
        Assert.Equal(Requests.ThreePersonas.Order(StringComparer.Ordinal), personas.Select(p => p.GetProperty("persona").GetString()).Order(StringComparer.Ordinal));
        foreach (var persona in personas)
        {
            var text = persona.GetProperty("persona").GetString()!;
            var taskScores = new List<double>();
            foreach (var task in PersonaTasks.All)
            {
                // The paper's rules: per judge the mean of its parsed scores, per batch the mean over judges, per task the mean over batches.
                var expected = judgements.Where(j => j.Persona == text && j.Task == task)
                    .GroupBy(j => j.BatchId)
                    .Select(batch => batch.GroupBy(j => j.Judge).Select(judge => judge.Where(j => j.Score != null).Average(j => (double)j.Score!.Value)).Average())
                    .Average();
                taskScores.Add(expected);
                Assert.Equal(expected, persona.GetProperty("tasks").GetProperty(task.DisplayName()).GetProperty("score").GetDouble(), precision: 9);
            }

            // PersonaScore: the unweighted mean of the five task scores.
            Assert.Equal(taskScores.Average(), persona.GetProperty("personaScore").GetDouble(), precision: 9);
        }
    }

    [Fact]
    public async Task A_run_stopped_by_its_call_budget_resumes_to_completion_with_a_larger_budget()
    {
        using var client = host.Client();
        var (response, accepted) = await SubmitAsync(client, Requests.SmallOfflineRun("api-budget", maxCalls: 5, agent: "offline:agent-on-a-budget"));

        var stopped = await host.WaitUntilSettledAsync(client, response.Headers.Location!.OriginalString);
        Assert.Equal(RunStatus.Stopped, stopped.Summary.Status);
        Assert.Contains(stopped.Problems, p => p.Contains("call budget reached", StringComparison.Ordinal));

        var resume = await client.PostAsJsonAsync($"/api/runs/{accepted.Id}/resume", new RunResumeRequest(MaxCalls: 100_000, MaxTokens: null), PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        var resumed = await resume.Content.ReadFromJsonAsync<RunResumed>(PersonaGymJson.Options);
        Assert.True(resumed!.Republished > 0);

        var completed = await host.WaitUntilSettledAsync(client, response.Headers.Location!.OriginalString);
        Assert.Equal(RunStatus.Completed, completed.Summary.Status);
        Assert.Equal(3 * 5 * 2 * 2, completed.Summary.Judgements);
    }

    [Fact]
    public async Task A_completed_run_appears_in_the_run_list_the_leaderboard_the_question_sets_and_the_landing_page()
    {
        using var client = host.Client();
        var (response, accepted) = await SubmitAsync(client, Requests.SmallOfflineRun("api-listed"));
        Assert.Equal(RunStatus.Completed, (await host.WaitUntilSettledAsync(client, response.Headers.Location!.OriginalString)).Summary.Status);

        var runs = (await client.GetFromJsonAsync<List<RunListItem>>("/api/runs", PersonaGymJson.Options))!;
        var listed = Assert.Single(runs, r => r.Id == accepted.Id);
        Assert.Equal(["offline:agent-a"], listed.Agents);
        Assert.Equal(ReportText.OfflineDisclaimer, listed.Disclaimer);
        Assert.Equal(runs.OrderByDescending(r => r.CreatedAt).Select(r => r.Id), runs.Select(r => r.Id));

        var leaderboard = await client.GetFromJsonAsync<List<LeaderboardEntry>>("/api/leaderboard", PersonaGymJson.Options);
        var entry = Assert.Single(leaderboard!, e => e.RunId == accepted.Id);
        Assert.Equal(3, entry.PersonasWithScore);
        Assert.NotNull(entry.PersonaScore);
        Assert.Equal(ReportText.OfflineDisclaimer, entry.Disclaimer);
        await using (var db = host.Database())
        {
            var report = await RunReportBuilder.BuildAsync(db, accepted.Id);
            Assert.Equal(report!.Models[0].Overall.PersonaScore!.Value, entry.PersonaScore!.Value, precision: 9);
        }

        var sets = await client.GetFromJsonAsync<List<QuestionSetListItem>>("/api/question-sets", PersonaGymJson.Options);
        var set = Assert.Single(sets!, s => s.Id == entry.QuestionSetId);
        Assert.Equal(3, set.Personas);

        var page = await client.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("api-listed", html);
        Assert.Contains($"/api/runs/{accepted.Id}/results", html);
        Assert.Contains("/openapi/v1.json", html);
    }

    [Fact]
    public async Task Results_flag_a_persona_resting_on_fewer_judges_and_leave_it_out_of_the_means_unless_asked()
    {
        using var client = host.Client();
        var (response, accepted) = await SubmitAsync(client, Requests.SmallOfflineRun("api-flags", agent: "offline:agent-flags"));
        await host.WaitUntilSettledAsync(client, response.Headers.Location!.OriginalString);

        // One judge's verdicts on one batch are gone: that persona's Toxicity Control now rests on the other judge alone.
        string persona;
        await using (var db = host.Database())
        {
            var batch = await db.Judgements.Where(j => j.RunId == accepted.Id && j.Judge.Spec == "offline:judge-2"
                                                     && j.Answer.Question.Task == PersonaTask.ToxicityControl)
                .Select(j => new { j.Answer.Question.BatchId, Persona = j.Answer.Question.QuestionSetPersona.Persona.Text }).FirstAsync();
            persona = batch.Persona;
            await db.Judgements.Where(j => j.RunId == accepted.Id && j.Judge.Spec == "offline:judge-2" && j.Answer.Question.BatchId == batch.BatchId)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Score, (int?)null).SetProperty(j => j.ParseFailure, "no final score in the verdict"));
        }

        using var report = JsonDocument.Parse(await client.GetStringAsync($"/api/runs/{accepted.Id}/results"));
        var model = report.RootElement.GetProperty("models")[0];
        var flagged = model.GetProperty("personas").EnumerateArray().Single(p => p.GetProperty("persona").GetString() == persona);
        Assert.False(flagged.GetProperty("complete").GetBoolean());
        Assert.Equal(1, flagged.GetProperty("missingJudgements").GetInt32());
        Assert.Equal(1, flagged.GetProperty("tasks").GetProperty("Toxicity Control").GetProperty("missingJudgements").GetInt32());
        Assert.Equal(1, model.GetProperty("overall").GetProperty("personasLeftOut").GetInt32());
        Assert.Equal(2, model.GetProperty("overall").GetProperty("completePersonas").GetInt32());
        Assert.Contains(report.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("1 of 3 personas are incomplete"));

        using var all = JsonDocument.Parse(await client.GetStringAsync($"/api/runs/{accepted.Id}/results?includeIncomplete=true"));
        var overall = all.RootElement.GetProperty("models")[0].GetProperty("overall");
        Assert.Equal(0, overall.GetProperty("personasLeftOut").GetInt32());
        Assert.True(overall.GetProperty("includesIncompletePersonas").GetBoolean());
        Assert.NotEqual(model.GetProperty("overall").GetProperty("personaScore").GetDouble(), overall.GetProperty("personaScore").GetDouble());
    }
}
