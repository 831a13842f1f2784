using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using PersonaGym.AppHost.LocalInfrastructure;
using PersonaGym.Testing;

// The page-render benchmark: a run of N personas × M models stored in a fresh local PostgreSQL by the CLI (offline
// models, in one process), the Api and the web app started on loopback against it (the Api also wants a broker: a
// local RabbitMQ, idle here), a person signed in with a key,
// and the run page and a persona page fetched as a browser's first request gets them: the prerendered HTML, which
// includes every Api call the page makes before its first render. Numbers, not assertions. See bench/README.md.
var options = PageBenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(PageBenchOptions.Usage);
    return 2;
}

var repo = options.Repository ?? FindRepository();
string Dll(string project, string name) => Path.Combine(repo, "Services", project, "bin", "Release", "net10.0", name);
var cli = Dll("PersonaGym.Cli", "personagym.dll");
var apiDll = Dll("PersonaGym.Api", "PersonaGym.Api.dll");
var webDll = Dll("PersonaGym.Web", "PersonaGym.Web.dll");
foreach (var dll in new[] { cli, apiDll, webDll })
{
    if (!File.Exists(dll))
    {
        Console.Error.WriteLine($"Build first (Release): dotnet build Services/PersonaGym.Cli -c Release; dotnet build Services/PersonaGym.Api -c Release; dotnet build Services/PersonaGym.Web -c Release (missing {dll})");
        return 2;
    }
}

var work = Directory.CreateTempSubdirectory("personagym-pagebench-").FullName;
var postgres = new PostgresServer();
var rabbitMq = new RabbitMqServer();
var processes = new List<Process>();
try
{
    await postgres.InitializeAsync();
    await rabbitMq.InitializeAsync();
    var database = await postgres.CreateDatabaseAsync();

    // The stored run: the real pipeline with offline models writes every row a real run has.
    var personas = Path.Combine(work, "personas.txt");
    await File.WriteAllLinesAsync(personas, Enumerable.Range(1, options.Personas)
        .Select(i => $"A {20 + i % 50}-year-old page-bench persona number {i} who keeps bees and plays the cello"));
    string[] run =
    [
        cli, "run", "--db", database, "--personas", personas, "-n", options.QuestionsPerTask.ToString(CultureInfo.InvariantCulture),
        .. Enumerable.Range(1, options.Models).SelectMany(m => new[] { "--agent", $"offline:page-bench-{m}" }),
        "--judge", "offline:judge-1", "--judge", "offline:judge-2", "--output", Path.Combine(work, "result.json"),
    ];
    Console.WriteLine($"Storing a run of {options.Personas} personas × {options.Models} models, {options.QuestionsPerTask} questions per task (offline models)…");
    var seeding = Stopwatch.StartNew();
    var (code, output) = await RunAsync("dotnet", run, new Dictionary<string, string>());
    if (code != 0)
    {
        Console.Error.WriteLine("The run failed:\n" + output);
        return 1;
    }

    using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(work, "result.json")));
    var runId = report.RootElement.GetProperty("runId").GetString()!;
    Console.WriteLine($"Stored run {runId} in {seeding.Elapsed.TotalSeconds:0} s.");

    // The Api and the web app, as the AppHost would start them, on loopback ports.
    var key = "pgk_pagebench_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
    var apiUrl = $"http://127.0.0.1:{LoopbackPorts.Free()}";
    var webUrl = $"http://127.0.0.1:{LoopbackPorts.Free()}";
    processes.Add(Start(apiDll, new()
    {
        ["ASPNETCORE_URLS"] = apiUrl, ["ConnectionStrings__personagym"] = database, ["ConnectionStrings__rabbitmq"] = rabbitMq.ConnectionString,
        ["PersonaGym__Auth__BootstrapKey"] = key,
        ["ASPNETCORE_ENVIRONMENT"] = "Production", ["MASSTRANSIT_USAGE_TELEMETRY"] = "false",
    }));
    await WaitAliveAsync(apiUrl, processes[^1]);
    processes.Add(Start(webDll, new() { ["ASPNETCORE_URLS"] = webUrl, ["PersonaGym__ApiUrl"] = apiUrl, ["ASPNETCORE_ENVIRONMENT"] = "Production" }));
    await WaitAliveAsync(webUrl, processes[^1]);

    using var api = new HttpClient { BaseAddress = new Uri(apiUrl) };
    api.DefaultRequestHeaders.Add("X-Api-Key", key);
    using var personaPage = JsonDocument.Parse(await api.GetStringAsync($"/api/runs/{runId}/personas?limit=1"));
    var personaId = personaPage.RootElement.GetProperty("items")[0].GetProperty("personaId").GetString()!;

    // Signed in as a person would be: the sign-in form with its antiforgery token.
    using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = new Uri(webUrl) };
    var form = await browser.GetStringAsync("/signin");
    var token = Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
    using var signIn = await browser.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string>
    {
        ["_handler"] = "signin", ["__RequestVerificationToken"] = token, ["Input.Key"] = key,
    }));
    if (signIn.StatusCode != HttpStatusCode.Redirect)
    {
        Console.Error.WriteLine($"Signing in failed: {(int)signIn.StatusCode}");
        return 1;
    }

    var targets = new (string Name, HttpClient Client, string Path)[]
    {
        ("run page (web, prerendered)", browser, $"/runs/{runId}"),
        ("persona page (web, prerendered)", browser, $"/runs/{runId}/personas/{personaId}"),
        ("  Api: run", api, $"/api/runs/{runId}"),
        ("  Api: results (report)", api, $"/api/runs/{runId}/results"),
        ("  Api: personas, first page", api, $"/api/runs/{runId}/personas?offset=0&limit=25"),
        ("  Api: persona evidence", api, $"/api/runs/{runId}/personas/{personaId}"),
    };
    Console.WriteLine();
    Console.WriteLine($"{options.Personas} personas × {options.Models} models, {options.QuestionsPerTask} questions per task; {options.Repeat} timed requests each after {options.Warmup} warm-up");
    Console.WriteLine("| what | first ms | median ms | p90 ms | min ms | max ms | KB |");
    Console.WriteLine("|---|---|---|---|---|---|---|");
    foreach (var (name, client, path) in targets)
    {
        var times = new List<double>();
        long bytes = 0;
        for (var i = 0; i < options.Warmup + options.Repeat; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await client.GetAsync(path);
            var body = await response.Content.ReadAsByteArrayAsync();
            clock.Stop();
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"{path}: {(int)response.StatusCode}");
                return 1;
            }

            bytes = body.Length;
            if (i == 0 || i >= options.Warmup) times.Add(clock.Elapsed.TotalMilliseconds);
        }

        var first = times[0];
        var timed = times.Skip(1).Order().ToList();
        double At(double q) => timed[Math.Min(timed.Count - 1, (int)Math.Ceiling(q * timed.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {first:0} | {At(0.5):0} | {At(0.9):0} | {timed[0]:0} | {timed[^1]:0} | {bytes / 1024.0:0} |"));
    }

    return 0;
}
finally
{
    foreach (var process in processes)
    {
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await process.WaitForExitAsync();
        process.Dispose();
    }

    await rabbitMq.DisposeAsync();
    await postgres.DisposeAsync();
    Directory.Delete(work, recursive: true);
}

static Process Start(string dll, Dictionary<string, string> environment)
{
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    start.ArgumentList.Add(dll);
    foreach (var (name, value) in environment) start.Environment[name] = value;
    var process = Process.Start(start)!;
    // Drained, not shown: a full pipe would stall the server.
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line && !line.TrimStart().StartsWith("at ", StringComparison.Ordinal)) Console.Error.WriteLine($"  [{Path.GetFileNameWithoutExtension(dll)}] {line}"); };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitAliveAsync(string url, Process process)
{
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    for (var i = 0; i < 240; i++)
    {
        if (process.HasExited) throw new InvalidOperationException($"{url}: the process exited ({process.ExitCode}).");
        try
        {
            if ((await http.GetAsync(url + "/alive")).IsSuccessStatusCode) return;
        }
        catch (HttpRequestException)
        {
        }
        catch (TaskCanceledException)
        {
        }

        await Task.Delay(500);
    }

    throw new TimeoutException($"{url} did not answer /alive within two minutes.");
}

static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> arguments, Dictionary<string, string> environment)
{
    var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var argument in arguments) start.ArgumentList.Add(argument);
    foreach (var (name, value) in environment) start.Environment[name] = value;
    using var process = Process.Start(start)!;
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    return (process.ExitCode, await stdout + await stderr);
}

static string FindRepository()
{
    for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "PersonaGym.sln"))) return directory.FullName;
    }

    return Directory.GetCurrentDirectory();
}

/// <summary>The benchmark's settings.</summary>
internal sealed record PageBenchOptions(int Personas, int Models, int QuestionsPerTask, int Repeat, int Warmup, string? Repository)
{
    public const string Usage = """
        Usage: PersonaGym.PageBench [--personas 200] [--models 2] [--questions 10] [--repeat 20] [--warmup 3] [--repo DIR]
          Stores a run of PERSONAS × MODELS (offline models) in a fresh local PostgreSQL, starts the Api and the web app on
          loopback, signs in with a key and times the run page and a persona page (prerendered HTML) and the Api reads behind them.
        """;

    public static PageBenchOptions? Parse(string[] args)
    {
        int personas = 200, models = 2, questions = 10, repeat = 20, warmup = 3;
        string? repo = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--personas": personas = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--models": models = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--questions": questions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--repeat": repeat = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--repo": repo = Next(); break;
                    default: return null;
                }
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return personas > 0 && models > 0 && questions > 0 && repeat > 1 && warmup >= 0 ? new PageBenchOptions(personas, models, questions, repeat, warmup, repo) : null;
    }
}
