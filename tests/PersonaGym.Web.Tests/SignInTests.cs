using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using PersonaGym.AppHost.Tests;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Reports;

namespace PersonaGym.Web.Tests;

/// <summary>People sign in to the web app with their own Api key; what they may do is that key's role.</summary>
[Collection(SystemCollection.Name)]
public sealed class SignInTests(BrowserSystem system) : IClassFixture<BrowserSystem>
{
    private static readonly Regex SignInPage = new("/signin(\\?.*)?$");

    [Fact]
    public async Task An_operator_key_signs_in_and_gets_the_operator_actions()
    {
        var runId = await system.CompletedRunAsync("signin-operator", "offline:agent-signin-op");
        await system.OnPageAsync(nameof(An_operator_key_signs_in_and_gets_the_operator_actions), async page =>
        {
            await BrowserSystem.SignInAsync(page, system.OperatorKey, $"runs/{runId}");

            await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/runs/{runId}$"));
            await Assertions.Expect(page.Locator("[data-testid=signed-in-as]")).ToHaveTextAsync("bootstrap · operator");
            await Assertions.Expect(page.Locator("[data-testid=resume]")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("[data-testid=nav-start-run]")).ToBeVisibleAsync();
            await page.GotoAsync("runs/new");
            await Assertions.Expect(page.Locator("[data-testid=estimate]")).ToBeVisibleAsync();
        });
    }

    [Fact]
    public async Task A_reader_key_sees_the_results_but_no_operator_actions()
    {
        var runId = await system.CompletedRunAsync("signin-reader", "offline:agent-signin-reader");
        var readerKey = await system.CreateKeyAsync("browser-reader", ApiKeyRole.Reader);
        await system.OnPageAsync(nameof(A_reader_key_sees_the_results_but_no_operator_actions), async page =>
        {
            await BrowserSystem.SignInAsync(page, readerKey);
            await Assertions.Expect(page.Locator("[data-testid=signed-in-as]")).ToHaveTextAsync("browser-reader · reader");
            await Assertions.Expect(page.Locator("[data-testid=runs-grid]")).ToContainTextAsync("signin-reader");
            await Assertions.Expect(page.Locator("[data-testid=nav-start-run]")).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator("[data-testid=start-run]")).ToHaveCountAsync(0);

            await page.GotoAsync($"runs/{runId}");
            await page.Locator("#pg-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
            await Assertions.Expect(page.Locator("[data-testid=persona-score-link]").First).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("[data-testid=resume]")).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator("[data-testid=cancel]")).ToHaveCountAsync(0);

            // The start-run form is for operators: a reader who goes there is told why, and gets no form.
            await page.GotoAsync("runs/new");
            await Assertions.Expect(page.Locator("[data-testid=not-allowed]")).ToContainTextAsync("needs an operator key");
            await Assertions.Expect(page.Locator("[data-testid=estimate]")).ToHaveCountAsync(0);
        });
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_a_clear_error_and_signs_nobody_in()
    {
        await system.OnPageAsync(nameof(A_wrong_key_is_refused_with_a_clear_error_and_signs_nobody_in), async page =>
        {
            await BrowserSystem.SignInAsync(page, "pgk_" + new string('x', 43));

            await Assertions.Expect(page.Locator("[data-testid=signin-error]")).ToContainTextAsync("does not know this key");
            await page.GotoAsync("leaderboard");
            await Assertions.Expect(page).ToHaveURLAsync(SignInPage);
        });
    }

    [Fact]
    public async Task No_page_or_export_answers_without_signing_in()
    {
        var runId = await system.CompletedRunAsync("signin-anonymous", "offline:agent-signin-anon");
        var personas = await system.Api.GetFromJsonAsync<Page<RunPersonaItem>>($"/api/runs/{runId}/personas", PersonaGymJson.Options);
        var personaId = personas!.Items[0].PersonaId;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = system.WebAddress };

        foreach (var path in new[] { "", "runs/new", "leaderboard", $"runs/{runId}", $"runs/{runId}/personas/{personaId}", $"runs/{runId}/rate",
                     "access-denied", $"runs/{runId}/export/json", $"runs/{runId}/export/csv", $"runs/{runId}/export/scores/0" })
        {
            using var response = await http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"/{path} answered {(int)response.StatusCode} without sign-in");
            Assert.StartsWith("/signin?returnUrl=", response.Headers.Location!.PathAndQuery);
        }

        // The browser lands on the sign-in page, and after signing in on the page it asked for.
        await system.OnPageAsync(nameof(No_page_or_export_answers_without_signing_in), async page =>
        {
            await page.GotoAsync($"runs/{runId}");
            await Assertions.Expect(page).ToHaveURLAsync(SignInPage);
            await page.FillAsync("[data-testid=api-key]", system.OperatorKey);
            await page.ClickAsync("[data-testid=signin]");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/runs/{runId}$"));
        });
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        await system.OnSignedInPageAsync(nameof(Signing_out_ends_the_session), async page =>
        {
            await page.ClickAsync("[data-testid=signout]");

            await Assertions.Expect(page.Locator("[data-testid=signin-note]")).ToHaveTextAsync("Signed out.");
            await page.GotoAsync("");
            await Assertions.Expect(page).ToHaveURLAsync(SignInPage);
        });
    }

    [Fact]
    public async Task A_revoked_key_ends_the_session_at_the_next_Api_call_and_says_why()
    {
        var key = await system.CreateKeyAsync("browser-revoked", ApiKeyRole.Reader);
        await system.OnPageAsync(nameof(A_revoked_key_ends_the_session_at_the_next_Api_call_and_says_why), async page =>
        {
            await BrowserSystem.SignInAsync(page, key, "leaderboard");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/leaderboard$"));
            await page.Locator("#pg-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });

            await system.RevokeKeyAsync("browser-revoked");
            // In-app navigation: the next page's Api call is refused, and the session ends.
            await page.ClickAsync("nav a[href='']");

            await Assertions.Expect(page.Locator("[data-testid=signin-note]")).ToHaveTextAsync("Signed out: your key is no longer valid. Sign in with a valid key.");
            await page.GotoAsync("");
            await Assertions.Expect(page).ToHaveURLAsync(SignInPage);
        });
    }

    [Fact]
    public async Task A_page_left_idle_is_sent_to_sign_in_with_the_reason_unless_the_session_is_still_alive()
    {
        // What an idle page's redirect leads to (IdleSessionTests prove that an idle circuit makes it): the session
        // ended, the reason shown; the session still alive (used in another tab), straight back.
        await system.OnPageAsync(nameof(A_page_left_idle_is_sent_to_sign_in_with_the_reason_unless_the_session_is_still_alive), async page =>
        {
            await page.GotoAsync("signin?ended=idle&returnUrl=%2Fleaderboard");
            await Assertions.Expect(page.Locator("[data-testid=signin-note]")).ToHaveTextAsync("Signed out after 8 h without use. Sign in again to continue.");

            await BrowserSystem.SignInAsync(page, system.OperatorKey, "runs");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/runs$"));
            await page.GotoAsync("signin?ended=idle&returnUrl=%2Fleaderboard");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/leaderboard$"));
            await Assertions.Expect(page.Locator("[data-testid=signed-in-as]")).ToHaveTextAsync("bootstrap · operator");
        });
    }
}
