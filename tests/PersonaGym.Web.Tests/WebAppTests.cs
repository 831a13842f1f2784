using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using PersonaGym.AppHost.Tests;
using PersonaGym.Core.Benchmark;
using PersonaGym.Core.Reports;
using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Web.Tests;

/// <summary>What a researcher does in the browser, against the whole system as the AppHost starts it.</summary>
[Collection(SystemCollection.Name)]
public sealed class WebAppTests(BrowserSystem system) : IClassFixture<BrowserSystem>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);
    private const string BoardA = "offline:agent-board-a";
    private const string BoardB = "offline:agent-board-b";

    /// <summary>The two-model run the leaderboard, chart, export and filter tests read (one run, submitted once per system).</summary>
    private Task<Guid> TwoModelRunAsync() => system.CompletedRunAsync("browser-leaderboard", BoardA, BoardB);

    [Fact]
    public async Task A_run_submitted_from_the_form_reaches_Completed_on_its_page_without_a_reload()
    {
        await system.OnSignedInPageAsync(nameof(A_run_submitted_from_the_form_reaches_Completed_on_its_page_without_a_reload), async page =>
        {
            await page.GotoAsync("runs/new");
            await WaitForInteractiveAsync(page);
            await page.FillAsync("input[name=name]", "browser-form-run");
            await page.FillAsync("textarea[name=personas]",
                "A 38-year-old lighthouse keeper from Maine who restores old clocks\nA 25-year-old street musician from Lisbon who studies law");
            await page.FillAsync("textarea[name=agents]", "offline:agent-form-a\nofflne-typo");
            await page.FillAsync("textarea[name=judges]", "offline:judge-1\noffline:judge-2");
            await page.FillAsync("input[name=questionsPerTask]", "2");

            // A bad spec is reported at its field and nothing can be submitted.
            await page.ClickAsync("[data-testid=estimate]");
            await Assertions.Expect(page.Locator("[data-testid=error-agents]")).ToContainTextAsync("offlne-typo");
            await Assertions.Expect(page.Locator("[data-testid=submit]")).ToBeDisabledAsync();

            await page.FillAsync("textarea[name=agents]", "offline:agent-form-a\noffline:agent-form-b");
            await page.ClickAsync("[data-testid=estimate]");
            await Assertions.Expect(page.Locator("[data-testid=estimate-result]")).ToContainTextAsync("LLM calls");
            // offline:agent-form-a is priced (BrowserSystem): the estimate is in money too.
            await Assertions.Expect(page.Locator("[data-testid=estimate-cost]")).ToContainTextAsync(" USD");
            await page.ClickAsync("[data-testid=submit]");

            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/runs/[0-9a-f-]{36}$"));
            // A marker on the window: a reload would lose it.
            await page.EvaluateAsync("() => window.personaGymNoReload = true");
            await Assertions.Expect(page.Locator("h1 [data-testid=run-status]"))
                .ToHaveTextAsync("Completed", new LocatorAssertionsToHaveTextOptions { Timeout = (float)RunTimeout.TotalMilliseconds });
            Assert.True(await page.EvaluateAsync<bool>("() => window.personaGymNoReload === true"), "the page was reloaded");
            await Assertions.Expect(page.Locator("[data-testid=stage-judge]")).ToContainTextAsync("20 / 20");
            var details = await system.Api.GetFromJsonAsync<RunDetails>($"/api/runs/{page.Url.Split('/')[^1]}", PersonaGymJson.Options);
            Assert.True(details!.Summary.Cost is { Complete: true, Amount: > 0 }, $"the run's cost: {details.Summary.Cost}");
            await Assertions.Expect(page.Locator("[data-testid=run-cost]")).ToHaveTextAsync(details.Summary.Cost!.Format());

            // The README's picture of a run page.
            await Assertions.Expect(page.Locator("[data-testid=persona-score-link]").First).ToBeVisibleAsync();
            await page.WaitForTimeoutAsync(500); // let the charts finish their first layout before the picture
            var shot = Path.Combine(BrowserSystem.RepositoryRoot, "artifacts", "browser-tests", "run-page.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            if (Environment.GetEnvironmentVariable("PERSONAGYM_UPDATE_SCREENSHOTS") == "1")
                File.Copy(shot, Path.Combine(BrowserSystem.RepositoryRoot, "docs", "images", "run-page.png"), overwrite: true);
        });
    }

    [Fact]
    public async Task A_score_on_the_run_page_opens_the_persona_with_each_judges_verdict_text()
    {
        var runId = await system.CompletedRunAsync("browser-persona", "offline:agent-persona");
        await system.OnSignedInPageAsync(nameof(A_score_on_the_run_page_opens_the_persona_with_each_judges_verdict_text), async page =>
        {
            await page.GotoAsync($"runs/{runId}");
            await WaitForInteractiveAsync(page);
            await page.Locator("[data-testid=persona-score-link]").First.ClickAsync();
            await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/runs/{runId}/personas/[0-9a-f-]{{36}}$"));

            var personaId = Guid.Parse(page.Url.Split('/')[^1]);
            var verdicts = await system.Api.GetFromJsonAsync<Page<VerdictItem>>(
                $"/api/runs/{runId}/verdicts?persona={personaId}&limit=500", PersonaGymJson.Options);
            var first = verdicts!.Items.First(v => v.Judge == "offline:judge-2");
            await Assertions.Expect(page.Locator("[data-testid=verdict-text]", new PageLocatorOptions { HasText = first.Reasoning ?? first.RawText }).First)
                .ToBeVisibleAsync();
            // 2 personas' worth: this one has 5 tasks × 2 questions, each graded by both judges.
            Assert.Equal(5 * 2 * 2, await page.Locator("[data-testid=verdict]").CountAsync());
            // Each question with the environment it is set in.
            var environments = await page.Locator("[data-testid=question-environment]").AllInnerTextsAsync();
            Assert.Equal(5 * 2, environments.Count);
            Assert.All(environments, e => Assert.DoesNotContain("not named", e));
        });
    }

    [Fact]
    public async Task The_leaderboard_chart_has_one_point_per_model_of_a_question_set()
    {
        var runId = await TwoModelRunAsync();
        var entries = (await system.Api.GetFromJsonAsync<List<LeaderboardEntry>>("/api/leaderboard", PersonaGymJson.Options))!.Where(e => e.RunId == runId).ToList();
        await system.OnSignedInPageAsync(nameof(The_leaderboard_chart_has_one_point_per_model_of_a_question_set), async page =>
        {
            await page.GotoAsync("leaderboard");
            await WaitForInteractiveAsync(page);
            var board = page.Locator("[data-testid=leaderboard]", new PageLocatorOptions { Has = page.Locator($"a[href='runs/{runId}']") });
            var table = board.Locator("[data-testid=leaderboard-table]");
            await Assertions.Expect(table.Locator("tr")).ToHaveCountAsync(1 + 2);
            // Radzen draws one path per column of the series.
            await Assertions.Expect(board.Locator("[data-testid=leaderboard-chart] .rz-column-series path")).ToHaveCountAsync(2);

            // Each model's 95 % interval, as the Api computed it over the run's two personas.
            await Assertions.Expect(table.Locator("th").Nth(4)).ToHaveTextAsync("95 % interval");
            Assert.Equal([BoardA, BoardB], entries.Select(e => e.Agent).Order(StringComparer.Ordinal));
            foreach (var entry in entries)
            {
                var interval = entry.PersonaScoreInterval ?? throw new Xunit.Sdk.XunitException($"{entry.Agent} has two personas scored and no interval");
                var row = table.Locator("tr", new LocatorLocatorOptions { HasText = entry.Agent });
                await Assertions.Expect(row.Locator("td").Nth(4)).ToHaveTextAsync($"{TwoDecimals(interval.Low)} – {TwoDecimals(interval.High)}");
            }
        });
    }

    [Fact]
    public async Task Rating_ten_answers_with_the_keyboard_shows_the_agreement_with_the_judges()
    {
        var runId = await system.CompletedRunAsync("browser-rating", "offline:agent-rated");
        await system.OnSignedInPageAsync(nameof(Rating_ten_answers_with_the_keyboard_shows_the_agreement_with_the_judges), async page =>
        {
            await page.GotoAsync($"runs/{runId}/rate");
            await WaitForInteractiveAsync(page);
            await page.FillAsync("input[name=rater]", "browser-rater");
            await page.FillAsync("input[name=size]", "10");
            await page.ClickAsync("[data-testid=start-rating]");
            var panel = page.Locator("[data-testid=rating-panel]");
            await Assertions.Expect(panel).ToBeFocusedAsync();
            // Blind: the model's name is nowhere on the page.
            Assert.DoesNotContain("offline:agent-rated", await page.ContentAsync());

            for (var i = 0; i < 10; i++)
            {
                await Assertions.Expect(panel).ToContainTextAsync($"{i} rated");
                await page.Keyboard.PressAsync(((i % 5) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            // The tenth key press is stored before the panel counts it.
            await Assertions.Expect(panel).ToContainTextAsync("10 rated");
            var table = page.Locator("[data-testid=rating-agreement]");
            await Assertions.Expect(table).ToBeVisibleAsync();
            // The Matched cell exactly: a statistic such as 0.10 must not pass for ten matched answers.
            var overall = table.Locator("tr", new LocatorLocatorOptions { HasText = "All tasks" });
            await Assertions.Expect(overall.Locator("td").Nth(1)).ToHaveTextAsync("10");
            var agreement = await system.Api.GetFromJsonAsync<RatingAgreement>($"/api/runs/{runId}/ratings/agreement", PersonaGymJson.Options);
            Assert.Equal(10, Assert.Single(agreement!.Raters).Ratings);

            // The run page shows the same agreement, the export for calibrate and the way back to rating.
            await page.GotoAsync($"runs/{runId}");
            await WaitForInteractiveAsync(page);
            var people = page.Locator("[data-testid=human-agreement]");
            var runOverall = people.Locator("[data-testid=rating-agreement] tr", new LocatorLocatorOptions { HasText = "All tasks" });
            await Assertions.Expect(runOverall.Locator("td").Nth(1)).ToHaveTextAsync("10");
            var overallReport = Assert.Single(agreement.Agents).Report.Overall;
            await Assertions.Expect(runOverall.Locator("td").Nth(2)).ToHaveTextAsync(Statistic(overallReport.Spearman));
            await Assertions.Expect(runOverall.Locator("td").Nth(3)).ToHaveTextAsync(Statistic(overallReport.KendallTauB));
            await Assertions.Expect(people.Locator("[data-testid=rate-link]")).ToHaveAttributeAsync("href", $"runs/{runId}/rate");
            var csv = await DownloadAsync(page, (await people.Locator("[data-testid=ratings-export]").GetAttributeAsync("href"))!);
            var (scores, errors) = HumanScoreFile.Parse(csv, "the run page's ratings export");
            Assert.Empty(errors);
            Assert.Equal(10, scores.Count);
        });
    }

    [Fact]
    public async Task The_run_page_charts_task_scores_per_model_the_PersonaScore_spread_and_each_judges_scores()
    {
        var runId = await TwoModelRunAsync();
        var report = RunReportReader.FromJson(await system.Api.GetStringAsync($"/api/runs/{runId}/results"));
        await system.OnSignedInPageAsync(nameof(The_run_page_charts_task_scores_per_model_the_PersonaScore_spread_and_each_judges_scores), async page =>
        {
            await page.GotoAsync($"runs/{runId}");
            await WaitForInteractiveAsync(page);
            // One column series per model, one column (path) per task.
            var tasks = page.Locator("[data-testid=task-chart] .rz-column-series");
            await Assertions.Expect(tasks).ToHaveCountAsync(2);
            for (var i = 0; i < 2; i++) await Assertions.Expect(tasks.Nth(i).Locator("path")).ToHaveCountAsync(5);

            // One box plot series; its boxes and whiskers are drawn.
            var spread = page.Locator("[data-testid=spread-chart] .rz-box-plot-series");
            await Assertions.Expect(spread).ToHaveCountAsync(1);
            await Assertions.Expect(spread.Locator("path, line, rect").First).ToBeAttachedAsync();

            // One column series per judge, one column per score level the judge gave.
            var judges = report.JudgeValidity!.Overall.Judges;
            Assert.Equal(2, judges.Count);
            var distribution = page.Locator("[data-testid=judge-chart] .rz-column-series");
            await Assertions.Expect(distribution).ToHaveCountAsync(judges.Count);
            for (var i = 0; i < judges.Count; i++)
                await Assertions.Expect(distribution.Nth(i).Locator("path")).ToHaveCountAsync(judges[i].Distribution.Counts.Count);
        });
    }

    [Fact]
    public async Task The_run_pages_export_links_download_the_report_as_JSON_CSV_Markdown_and_each_models_scores_json()
    {
        var runId = await TwoModelRunAsync();
        var report = RunReportReader.FromJson(await system.Api.GetStringAsync($"/api/runs/{runId}/results"));
        await system.OnSignedInPageAsync(nameof(The_run_pages_export_links_download_the_report_as_JSON_CSV_Markdown_and_each_models_scores_json), async page =>
        {
            await page.GotoAsync($"runs/{runId}");
            await WaitForInteractiveAsync(page);
            var links = page.Locator($"a[download][href^='runs/{runId}/export/']");
            await Assertions.Expect(links).ToHaveCountAsync(3 + 2);
            var hrefs = await links.EvaluateAllAsync<string[]>("links => links.map(l => l.getAttribute('href'))");
            Assert.Equal(
                [$"runs/{runId}/export/json", $"runs/{runId}/export/csv", $"runs/{runId}/export/md", $"runs/{runId}/export/scores/0", $"runs/{runId}/export/scores/1"],
                hrefs);

            var json = RunReportReader.FromJson(await DownloadAsync(page, hrefs[0]), "the JSON export");
            Assert.Equal(runId, json.RunId);
            Assert.Equal([BoardA, BoardB], json.Models.Select(m => m.Agent));

            var csv = Csv.Parse(await DownloadAsync(page, hrefs[1]));
            Assert.Equal(RunReportWriter.CsvHeader, csv[0].Fields);
            // One row per model and persona.
            Assert.Equal(2 * 2, csv.Count - 1);
            Assert.All(csv.Skip(1), r => Assert.Equal(RunReportWriter.CsvHeader.Count, r.Fields.Count));
            Assert.Equal(2, csv.Count(r => r.Fields[0] == BoardB));

            var markdown = await DownloadAsync(page, hrefs[2]);
            Assert.StartsWith("# PersonaGym run browser-leaderboard", markdown, StringComparison.Ordinal);
            Assert.Contains(BoardA, markdown, StringComparison.Ordinal);
            Assert.Contains("| ", markdown, StringComparison.Ordinal);

            for (var i = 0; i < 2; i++)
            {
                using var scores = JsonDocument.Parse(await DownloadAsync(page, hrefs[3 + i]));
                Assert.Equal(BenchmarkFormat.ScoreKeys, scores.RootElement.EnumerateObject().Select(p => p.Name));
                Assert.Equal(PersonaScoring.Round2(report.Models[i].Overall.PersonaScore!.Value), scores.RootElement.GetProperty(BenchmarkFormat.PersonaScoreKey).GetDouble());
            }
        });
    }

    [Fact]
    public async Task The_runs_lists_status_and_model_filters_narrow_its_rows()
    {
        await TwoModelRunAsync();
        await system.CompletedRunAsync("browser-persona", "offline:agent-persona");
        await system.OnSignedInPageAsync(nameof(The_runs_lists_status_and_model_filters_narrow_its_rows), async page =>
        {
            await page.GotoAsync("");
            await WaitForInteractiveAsync(page);
            var rows = page.Locator("[data-testid=runs-grid] [data-testid=run-link]");
            await Assertions.Expect(rows.Filter(new LocatorFilterOptions { HasText = "browser-persona" })).ToHaveCountAsync(1);
            await Assertions.Expect(rows.Filter(new LocatorFilterOptions { HasText = "browser-leaderboard" })).ToHaveCountAsync(1);

            // Every run of these tests completes: no row is cancelled.
            await ChooseAsync(page, "status-filter", "Cancelled");
            await Assertions.Expect(rows).ToHaveCountAsync(0);
            await ChooseAsync(page, "status-filter", "Completed");
            await Assertions.Expect(rows.Filter(new LocatorFilterOptions { HasText = "browser-persona" })).ToHaveCountAsync(1);

            // Only the two-model run has this model under test.
            await ChooseAsync(page, "model-filter", BoardB);
            await Assertions.Expect(rows).ToHaveCountAsync(1);
            await Assertions.Expect(rows).ToHaveTextAsync("browser-leaderboard");
        });
    }

    /// <summary>Opens one of the runs list's drop-down filters and picks an option, as a person clicking would.</summary>
    private static async Task ChooseAsync(IPage page, string filter, string option)
    {
        await page.Locator($"[data-testid={filter}] .rz-dropdown").ClickAsync();
        await page.Locator(".rz-dropdown-item:visible", new PageLocatorOptions { HasTextRegex = new Regex($"^\\s*{Regex.Escape(option)}\\s*$") }).ClickAsync();
    }

    /// <summary>
    /// What following an export link gives this page's signed-in person (the request carries the page's cookies): a
    /// file to save, not empty.
    /// </summary>
    private async Task<string> DownloadAsync(IPage page, string href)
    {
        var response = await page.APIRequest.GetAsync(new Uri(system.WebAddress, href).ToString());
        Assert.True(response.Status == 200, $"{href}: {response.Status} {response.StatusText}");
        Assert.StartsWith("attachment", response.Headers["content-disposition"], StringComparison.Ordinal);
        var text = await response.TextAsync();
        Assert.False(string.IsNullOrWhiteSpace(text), $"{href} downloaded nothing");
        return text;
    }

    private static string TwoDecimals(double value) => value.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);

    private static string Statistic(double? value) => value?.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) ?? "–";

    /// <summary>Until the page is interactive (its circuit connected) clicks reach nothing: the layout marks that moment.</summary>
    private static Task WaitForInteractiveAsync(IPage page) =>
        page.Locator("#pg-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
}
