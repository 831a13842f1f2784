using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Playwright;
using PersonaGym.AppHost.Tests;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Web.Tests;

/// <summary>
/// The whole system started by the AppHost (local PostgreSQL and RabbitMQ, every service and the web app) and one
/// headless Chromium: the Debian package's, since Playwright cannot download a browser here.
/// </summary>
public sealed class BrowserSystem : IAsyncLifetime
{
    private readonly LocalInfrastructureAppFixture _system = new()
    {
        // One model under test has a price, so the pages show a cost (the other offline models are free).
        Settings = new Dictionary<string, string>
        {
            ["PersonaGym:Pricing:Models:0:Model"] = PricedAgent,
            ["PersonaGym:Pricing:Models:0:InputPerMillionTokens"] = "2",
            ["PersonaGym:Pricing:Models:0:OutputPerMillionTokens"] = "8",
        },
    };

    /// <summary>The one model the system's price list prices.</summary>
    public const string PricedAgent = "offline:agent-form-a";
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public Uri WebAddress { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    /// <summary>The Api's first operator key (the AppHost's <c>api-key</c> parameter): what a person signs in with after <c>scripts/up.sh</c>.</summary>
    public string OperatorKey => _system.ApiKey;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    public DistributedApplication App => _system.App;

    public string DescribeResources() => _system.DescribeResources();

    /// <summary>The repository's root folder (where PersonaGym.sln is), for artifacts/ and docs/images/.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public async Task InitializeAsync()
    {
        var chromium = ChromiumPath();
        await _system.InitializeAsync();
        WebAddress = _system.App.GetEndpoint("web", "http");
        Api = _system.ApiClient();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            // Root in a container has no user namespace for Chromium's sandbox.
            Args = ["--no-sandbox"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        Api?.Dispose();
        await _system.DisposeAsync();
    }

    /// <summary>
    /// A small offline run submitted through the Api, followed until it settles; asked for again (the same name and
    /// models), the same run, so tests that only read a completed run share one instead of paying for another.
    /// </summary>
    public Task<Guid> CompletedRunAsync(string name, params string[] agents) =>
        _runs.GetOrAdd($"{name}|{string.Join(',', agents)}", _ => new Lazy<Task<Guid>>(() => SubmitAndWaitAsync(name, agents))).Value;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<Guid>>> _runs = new();

    private async Task<Guid> SubmitAndWaitAsync(string name, string[] agents)
    {
        var request = new RunRequest
        {
            Name = name,
            Personas =
            [
                $"A 44-year-old {name} ferry captain from Bergen who collects vinyl records",
                $"A 29-year-old {name} pastry chef from Lyon who trains for triathlons",
            ],
            Agents = agents,
            Judges = ["offline:judge-1", "offline:judge-2"],
            QuestionsPerTask = 2,
        };
        var response = await Api.PostAsJsonAsync("/api/runs", request, PersonaGymJson.Options);
        response.EnsureSuccessStatusCode();
        var accepted = (await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        while (true)
        {
            var details = await Api.GetFromJsonAsync<RunDetails>($"/api/runs/{accepted.Id}", PersonaGymJson.Options, timeout.Token);
            if (details!.Summary.Status is not (RunStatus.Pending or RunStatus.Running))
            {
                Assert.True(details.Summary.Status == RunStatus.Completed, $"The run ended {details.Summary.Status}: {string.Join("; ", details.Problems)}");
                return accepted.Id;
            }

            await Task.Delay(200, timeout.Token);
        }
    }

    /// <summary>A new key of the Api's database, as <c>personagym keys create</c> makes it; returns the secret.</summary>
    public async Task<string> CreateKeyAsync(string name, ApiKeyRole role)
    {
        await using var db = await OpenDatabaseAsync();
        return (await ApiKeyStore.CreateAsync(db, name, role)).Secret;
    }

    /// <summary>Revokes a key as <c>personagym keys revoke NAME</c> does.</summary>
    public async Task RevokeKeyAsync(string name)
    {
        await using var db = await OpenDatabaseAsync();
        await ApiKeyStore.RevokeAsync(db, name);
    }

    private async Task<PersonaGymDbContext> OpenDatabaseAsync()
    {
        var connectionString = await _system.App.GetConnectionStringAsync("personagym");
        return PersonaGymDatabase.CreateDbContext(new DatabaseConnection(DatabaseProvider.Postgres, connectionString!));
    }

    /// <summary>Signs in on the sign-in page with <paramref name="key"/>, as a person pasting it would.</summary>
    public static async Task SignInAsync(IPage page, string key, string? path = null)
    {
        await page.GotoAsync(path is null ? "signin" : $"signin?returnUrl={Uri.EscapeDataString("/" + path)}");
        await page.FillAsync("[data-testid=api-key]", key);
        // The form posts to the server, which asks the Api about the key before it answers: wait for that answer (on two
        // busy cores it once took longer than an expectation waits), so what a test sees next is the answer's page.
        await page.RunAndWaitForResponseAsync(
            () => page.ClickAsync("[data-testid=signin]"),
            response => response.Request.Method == "POST" && new Uri(response.Url).AbsolutePath.EndsWith("/signin", StringComparison.Ordinal),
            new PageRunAndWaitForResponseOptions { Timeout = 90_000 });
    }

    /// <summary>Runs a browser test on a fresh page, signed in with the operator key first.</summary>
    public Task OnSignedInPageAsync(string name, Func<IPage, Task> test) =>
        OnPageAsync(name, async page =>
        {
            await SignInAsync(page, OperatorKey);
            await Assertions.Expect(page.Locator("[data-testid=signed-in-as]")).ToContainTextAsync("operator");
            await test(page);
        });

    /// <summary>
    /// Runs a browser test on a fresh page (not signed in); when it fails, the page is saved as artifacts/browser-tests/NAME.png
    /// (with the resources' state in the message) before the failure is reported.
    /// </summary>
    public async Task OnPageAsync(string name, Func<IPage, Task> test)
    {
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = WebAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        context.SetDefaultTimeout(30_000);
        // Expectations wait as long as actions do: on two busy cores a page can take more than Playwright's 5 s default.
        Assertions.SetDefaultExpectTimeout(30_000);
        var page = await context.NewPageAsync();
        try
        {
            await test(page);
        }
        catch (Exception failure)
        {
            var shot = Path.Combine(RepositoryRoot, "artifacts", "browser-tests", $"{name}.png");
            Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            throw new Xunit.Sdk.XunitException($"{failure.Message}{Environment.NewLine}Screenshot: {shot}{Environment.NewLine}" +
                $"Resources:{Environment.NewLine}{DescribeResources()}{Environment.NewLine}{failure}");
        }
    }

    private static string ChromiumPath()
    {
        var configured = Environment.GetEnvironmentVariable("PERSONAGYM_CHROMIUM");
        foreach (var candidate in new[] { configured, "/usr/bin/chromium", "/usr/bin/chromium-browser" })
        {
            if (!string.IsNullOrWhiteSpace(candidate) && File.Exists(candidate)) return candidate;
        }

        throw new InvalidOperationException(
            "The browser tests need Chromium: sudo apt-get install -y chromium (scripts/test.sh installs it), " +
            "or set PERSONAGYM_CHROMIUM to a Chromium executable.");
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PersonaGym.sln"))) return directory.FullName;
        }

        return Directory.GetCurrentDirectory();
    }
}
