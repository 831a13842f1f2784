using System.Diagnostics;
using System.Globalization;
using PersonaGym.Bench;

// The throughput harness: a simulated OpenAI-compatible provider on loopback, and the benchmark question set
// (PERSONAGYM_BENCHMARK_DIR) run through `personagym run` in one process against it. Prints calls, wall time, the
// bound the provider allows, wall ÷ bound, CPU ms per call and peak RSS. Numbers, not assertions. See bench/README.md.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var benchmark = Environment.GetEnvironmentVariable("PERSONAGYM_BENCHMARK_DIR");
if (string.IsNullOrWhiteSpace(benchmark) || !File.Exists(Path.Combine(benchmark, "personas.json")))
{
    Console.Error.WriteLine("Set PERSONAGYM_BENCHMARK_DIR to the original benchmark folder (personas.json, questions/); it is not part of the repository.");
    return 2;
}

var repo = options.Repository ?? FindRepository();
var cli = options.Cli ?? Path.Combine(repo, "Services/PersonaGym.Cli/bin/Release/net10.0/personagym.dll");
if (!File.Exists(cli))
{
    Console.Error.WriteLine($"Build the CLI first: dotnet build {Path.Combine(repo, "Services/PersonaGym.Cli")} -c Release");
    return 2;
}

var work = Directory.CreateTempSubdirectory("personagym-bench-").FullName;
try
{
    // The question set is imported once, outside the measurement.
    var template = Path.Combine(work, "template.db");
    var (importCode, importOut) = await Processes.RunAsync("dotnet", [cli, "benchmark", "import", benchmark, "--db", template], new Dictionary<string, string>());
    if (importCode != 0)
    {
        Console.Error.WriteLine("Importing the benchmark failed:\n" + importOut);
        return 1;
    }

    if (options.AppHost) return await RunAppHostAsync(options, repo, cli, benchmark, work);

    Console.WriteLine(BenchResult.Header);
    foreach (var latency in options.Latencies)
    {
        var settings = new SimulatorSettings(
            new Dictionary<string, TimeSpan>(),
            latency,
            options.Capacity,
            options.RetryAfter,
            options.RateLimitHeaders);
        await using var simulator = await ProviderSimulator.StartAsync(settings);
        var db = Path.Combine(work, $"run-{Guid.NewGuid():N}.db");
        File.Copy(template, db);
        var spec = (string model) => $"openai:{model}@{simulator.BaseAddress}";
        string[] run =
        [
            cli, "run", "--question-set", "personagym-benchmark-v1", "--limit", options.Personas.ToString(CultureInfo.InvariantCulture),
            "--agent", spec("bench-agent"), "--exemplar-writer", spec("bench-writer"),
            .. Enumerable.Range(1, options.Judges).SelectMany(j => new[] { "--judge", spec($"bench-judge-{j}") }),
            "--db", db, "--output", Path.Combine(work, "result.json"),
        ];

        var timing = Path.Combine(work, "time.txt");
        var environment = new Dictionary<string, string>(options.Settings) { ["DOTNET_gcServer"] = "0" };
        // With --trace the run is sampled by dotnet-trace (its CPU and RSS then include the tracer's share).
        string[] command = options.Trace is { } trace
            ? ["dotnet-trace", "collect", "--profile", "dotnet-sampled-thread-time", "-o", trace, "--", "dotnet", .. run]
            : ["dotnet", .. run];
        var loadBefore = AppHostBench.LoadAverage();
        var launched = System.Diagnostics.Stopwatch.GetTimestamp();
        var (code, output) = await Processes.RunAsync("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timing, .. command], environment);
        var exited = System.Diagnostics.Stopwatch.GetTimestamp();
        if (code != 0)
        {
            Console.Error.WriteLine($"The run failed (exit {code}):\n{output}");
            return 1;
        }

        var measured = File.ReadAllText(timing).Trim().Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var result = new BenchResult(options, latency, simulator.Traffic.ToDictionary(p => p.Key, p => p.Value),
            WallSeconds: measured[0], CpuSeconds: measured[1] + measured[2], PeakRssMb: measured[3] / 1024,
            LoadAverage: (loadBefore + AppHostBench.LoadAverage()) / 2);
        Console.WriteLine(result.Row());
        if (options.Verbose)
        {
            // Where the wall time beyond the calls goes: the process's start before its first call, its end after the last.
            var spans = simulator.Traffic.Values.Select(t => t.Span).Where(s => s.First != 0).ToList();
            if (spans.Count > 0)
            {
                var first = System.Diagnostics.Stopwatch.GetElapsedTime(launched, spans.Min(s => s.First)).TotalSeconds;
                var last = System.Diagnostics.Stopwatch.GetElapsedTime(spans.Max(s => s.Last), exited).TotalSeconds;
                Console.WriteLine($"  first call {first:F1} s after the launch; the process exited {last:F1} s after the last answer");
            }

            Console.WriteLine(result.Detail());
            Console.WriteLine(output);
        }
    }

    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}

// AppHost mode: one run with the given replicas, or the comparison of one stage's replicas 1 and 4.
static async Task<int> RunAppHostAsync(BenchOptions options, string repo, string cli, string benchmark, string work)
{
    var defaultLatency = options.Latencies[0];
    Console.WriteLine(AppHostBench.StageHeader);
    if (options.Compare is not { } stage)
    {
        var single = await AppHostBench.RunAsync(options, repo, cli, benchmark, work, options.JudgeReplicas, options.AgentReplicas, options.RoleLatency, defaultLatency);
        if (single is null) return 1;
        Console.WriteLine(single.Row());
        Console.WriteLine($"\n{single.ProcessLine()}");
        return 0;
    }

    var role = stage == "judge" ? "judge" : "agent";
    var latency = new Dictionary<string, TimeSpan>(options.RoleLatency, StringComparer.Ordinal);
    latency.TryAdd(role, TimeSpan.FromSeconds(2));
    var results = new List<AppHostResult>();
    foreach (var replicas in new[] { 1, 4 })
    {
        var result = stage == "judge"
            ? await AppHostBench.RunAsync(options, repo, cli, benchmark, work, replicas, options.AgentReplicas, latency, defaultLatency)
            : await AppHostBench.RunAsync(options, repo, cli, benchmark, work, options.JudgeReplicas, replicas, latency, defaultLatency);
        if (result is null) return 1;
        Console.WriteLine(result.Row());
        results.Add(result);
    }

    Console.WriteLine();
    foreach (var result in results) Console.WriteLine($"{stage} replicas {(stage == "judge" ? result.JudgeReplicas : result.AgentReplicas)}: {result.ProcessLine()}");

    StageThroughput Of(AppHostResult r) => stage == "judge" ? r.JudgeStage : r.AnswerStage;
    var ratio = Of(results[0]).PerSecond > 0 ? Of(results[1]).PerSecond / Of(results[0]).PerSecond : double.NaN;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"\n{stage} stage throughput, 4 replicas ÷ 1: {ratio:0.00}× ({Of(results[1]).PerSecond:0.00} ÷ {Of(results[0]).PerSecond:0.00} {(stage == "judge" ? "judge calls" : "answers")}/s; issue 12 targets ≥ 3.6×)"));
    return 0;
}

static string FindRepository()
{
    var folder = new DirectoryInfo(AppContext.BaseDirectory);
    while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "PersonaGym.sln"))) folder = folder.Parent;
    return folder?.FullName ?? throw new InvalidOperationException("Run the harness from inside the repository, or pass --repo.");
}
