using System.Diagnostics;
using System.Globalization;

namespace PersonaGym.Bench;

/// <summary>
/// AppHost mode: starts the whole system through the AppHost with local PostgreSQL and RabbitMQ
/// (<c>Infrastructure:Mode=local</c>), points every model at the simulator, imports the benchmark question set into the
/// AppHost's database, submits the run through the Api (<c>personagym run --server</c>) and reports each stage's calls,
/// wall time and throughput as the simulator saw them.
/// </summary>
public static class AppHostBench
{
    /// <summary>The measured run's models: bench-agent, bench-writer, bench-judge-N.</summary>
    private const string MeasuredPrefix = "bench-";

    /// <summary>The warm-up runs' models: warmup-1-agent, …, warmup-2-judge-N.</summary>
    private const string WarmupPrefix = "warmup-";

    public const string StageHeader =
        "| personas | judge replicas | agent-runner replicas | latency agent/writer/judge | calls | 429s | wall s | bound s | wall ÷ bound | answer stage: calls, s, answers/s | judge stage: judge calls, s, calls/s | load |\n|---|---|---|---|---|---|---|---|---|---|---|---|";

    /// <summary>One AppHost run with the given replicas; null when it failed (the reason is printed).</summary>
    public static async Task<AppHostResult?> RunAsync(BenchOptions options, string repo, string cli, string benchmark, string work,
        int? judgeReplicas, int? agentReplicas, IReadOnlyDictionary<string, TimeSpan> roleLatency, TimeSpan defaultLatency)
    {
        var latency = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        TimeSpan Role(string role) => roleLatency.TryGetValue(role, out var l) ? l : defaultLatency;
        latency["bench-agent"] = Role("agent");
        latency["bench-writer"] = Role("writer");
        for (var j = 1; j <= options.Judges; j++) latency[$"bench-judge-{j}"] = Role("judge");
        // The warm-up runs' models answer at once: it is there to run every service's code paths, not to be measured.
        foreach (var model in latency.Keys.ToList())
        {
            for (var round = 1; round <= 2; round++) latency[$"{WarmupPrefix}{round}-{model[MeasuredPrefix.Length..]}"] = TimeSpan.Zero;
        }

        await using var simulator = await ProviderSimulator.StartAsync(
            new SimulatorSettings(latency, defaultLatency, options.Capacity, options.RetryAfter, options.RateLimitHeaders));
        var spec = (string model) => $"openai:{model}@{simulator.BaseAddress}";
        var judges = string.Join(',', Enumerable.Range(1, options.Judges).Select(j => spec($"bench-judge-{j}")));
        var data = Path.Combine(work, $"apphost-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        // PostgreSQL runs as the 'postgres' account when the AppHost runs as root: it must reach the data folder.
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("AppHost mode runs the local servers of Linux and macOS");
        File.SetUnixFileMode(work, File.GetUnixFileMode(work) | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(data, File.GetUnixFileMode(data) | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var apiKey = "pgk_bench" + Guid.NewGuid().ToString("N");
        var log = Path.Combine(data, "apphost.log");

        // A stopped AppHost's orchestrator ends its services a few seconds later: wait until nothing answers at the Api's
        // address, so this run's health check cannot reach an Api that is still ending (or another one).
        if (!await WaitFreeAsync(options.ApiUrl, TimeSpan.FromSeconds(60)))
        {
            Console.Error.WriteLine($"Something already answers at {options.ApiUrl}; stop it, or give the AppHost's Api another address with --api.");
            return null;
        }

        // setsid: the AppHost and everything it starts get their own process group, stopped as one at the end.
        var start = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])
            ["dotnet", "run", "--no-build", "--configuration", options.Configuration, "--project", Path.Combine(repo, "AppHost"), "--",
             "--Infrastructure:Mode=local", $"--Infrastructure:DataDirectory={data}",
             $"--Parameters:agent-models={spec("bench-agent")}", $"--Parameters:exemplar-writer-model={spec("bench-writer")}",
             $"--Parameters:judge-models={judges}", $"--Parameters:question-writer-model={spec("bench-writer")}",
             $"--PersonaGym:Endpoints:Allowed:0={simulator.BaseAddress}",
             .. judgeReplicas is { } jr ? [$"--Judge:Replicas={jr}"] : Array.Empty<string>(),
             .. agentReplicas is { } ar ? [$"--AgentRunner:Replicas={ar}"] : Array.Empty<string>()])
        {
            start.ArgumentList.Add(argument);
        }

        // The Api's first operator key goes through the environment, as scripts/up.sh does.
        start.Environment["Parameters__api-key"] = apiKey;
        foreach (var (key, value) in options.Settings) start.Environment[key] = value;
        using var apphost = Process.Start(start)!;
        using var logWriter = new StreamWriter(log) { AutoFlush = true };
        var pump = Task.WhenAll(Pump(apphost.StandardOutput, logWriter), Pump(apphost.StandardError, logWriter));

        // One run of the question set through the Api, its models named PREFIXagent, PREFIXwriter and PREFIXjudge-N.
        Task<(int Code, string Output)> RunCliAsync(string prefix, int personas, string output) => Processes.RunAsync("dotnet",
            [cli, "run", "--server", options.ApiUrl, "--question-set", "personagym-benchmark-v1",
             "--limit", personas.ToString(CultureInfo.InvariantCulture),
             "--agent", spec(prefix + "agent"), "--exemplar-writer", spec(prefix + "writer"),
             .. Enumerable.Range(1, options.Judges).SelectMany(j => new[] { "--judge", spec($"{prefix}judge-{j}") }),
             "--output", Path.Combine(data, output)],
            new Dictionary<string, string> { ["PERSONAGYM_API_KEY"] = apiKey });
        try
        {
            if (!await WaitHealthyAsync(options.ApiUrl, apphost, TimeSpan.FromMinutes(5)))
            {
                Console.Error.WriteLine($"The Api at {options.ApiUrl} did not become healthy; AppHost log:\n{Tail(log)}");
                return null;
            }

            var database = FindPostgres(data);
            if (database is null)
            {
                Console.Error.WriteLine("Could not find the AppHost's PostgreSQL server among its processes.");
                return null;
            }

            if (options.IdleSeconds > 0)
            {
                // Nothing submitted yet: what the services spend on their own (timers, health checks, telemetry).
                // The workers may still be starting when the Api is healthy: they get as long again to settle first.
                await Task.Delay(TimeSpan.FromSeconds(options.IdleSeconds));
                var idleBefore = ServiceProcesses.Sample(apphost.Id);
                await Task.Delay(TimeSpan.FromSeconds(options.IdleSeconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"idle for {options.IdleSeconds:0} s, {ServiceProcesses.Describe(idleBefore, ServiceProcesses.Sample(apphost.Id), calls: 0)}"));
            }

            var (importCode, importOut) = await Processes.RunAsync("dotnet", [cli, "benchmark", "import", benchmark, "--db", database], new Dictionary<string, string>());
            if (importCode != 0)
            {
                Console.Error.WriteLine("Importing the benchmark into the AppHost's database failed:\n" + importOut);
                return null;
            }

            if (options.WarmupPersonas > 0)
            {
                // A warm-up run first, with models of other names (so the measured run finds nothing in the response
                // cache): each service's start-up and JIT compilation of its hot paths would otherwise fall inside the
                // measured run, and on two cores with ten processes starting, that is most of the CPU.
                // Twice: the runtime starts counting calls (to compile hot methods again, optimized) only once no new
                // method has been compiled for a moment, so the first run mostly compiles and the second promotes. After
                // each, the services get time to finish (each process has one background compiler thread, and ten
                // processes share two cores) until they are idle, so none of it falls into the measured run.
                for (var round = 1; round <= 2; round++)
                {
                    var warmup = Stopwatch.StartNew();
                    var (warmCode, warmOut) = await RunCliAsync($"{WarmupPrefix}{round}-", options.WarmupPersonas, $"warmup-{round}.json");
                    if (warmCode != 0)
                    {
                        Console.Error.WriteLine($"The warm-up run failed (exit {warmCode}):\n{warmOut}\nAppHost log:\n{Tail(log)}");
                        return null;
                    }

                    var settle = Stopwatch.StartNew();
                    var idle = await ServiceProcesses.WaitIdleAsync(apphost.Id, TimeSpan.FromSeconds(180));
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"warm-up {round}: {options.WarmupPersonas} personas in {warmup.Elapsed.TotalSeconds:0.0} s, then {(idle ? "idle" : "still busy")} after {settle.Elapsed.TotalSeconds:0} s (not measured)"));
                }
            }

            var loadBefore = LoadAverage();
            var processesBefore = ServiceProcesses.Sample(apphost.Id);
            var wall = Stopwatch.StartNew();
            var (code, output) = await RunCliAsync(MeasuredPrefix, options.Personas, "result.json");
            wall.Stop();
            var processesAfter = ServiceProcesses.Sample(apphost.Id);
            if (code != 0)
            {
                Console.Error.WriteLine($"The run failed (exit {code}):\n{output}\nAppHost log:\n{Tail(log)}");
                return null;
            }

            if (options.Verbose) Console.WriteLine(output);
            return new AppHostResult(options, judgeReplicas, agentReplicas, latency,
                simulator.Traffic.Where(p => p.Key.StartsWith(MeasuredPrefix, StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value), wall.Elapsed.TotalSeconds, (loadBefore + LoadAverage()) / 2,
                processesBefore, processesAfter);
        }
        finally
        {
            using (var stop = Process.Start("kill", ["-TERM", "--", $"-{apphost.Id}"])) await stop.WaitForExitAsync();
            if (!apphost.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                using var kill = Process.Start("kill", ["-KILL", "--", $"-{apphost.Id}"]);
                await kill.WaitForExitAsync();
            }

            await pump;
        }
    }

    private static async Task Pump(StreamReader reader, StreamWriter writer)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (writer) writer.WriteLine(line);
        }
    }

    private static string Tail(string file) => File.Exists(file) ? string.Join('\n', File.ReadLines(file).TakeLast(40)) : "";

    private static async Task<bool> WaitFreeAsync(string api, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            try
            {
                await http.GetAsync(new Uri(new Uri(api), "/health"));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return true;
            }

            await Task.Delay(1000);
        }

        return false;
    }

    private static async Task<bool> WaitHealthyAsync(string api, Process apphost, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout && !apphost.HasExited)
        {
            try
            {
                if ((await http.GetAsync(new Uri(new Uri(api), "/health"))).IsSuccessStatusCode) return true;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(1000);
        }

        return false;
    }

    /// <summary>
    /// The connection string of the AppHost's local PostgreSQL (a random loopback port): the postgres process under the
    /// AppHost (its data directory under <paramref name="data"/>), its <c>-p</c> port and the superuser password the
    /// AppHost keeps next to its data directory.
    /// </summary>
    private static string? FindPostgres(string data)
    {
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out _)) continue;
            string[] arguments;
            try { arguments = File.ReadAllText(Path.Combine(folder, "cmdline")).Split('\0'); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            var d = Array.IndexOf(arguments, "-D");
            var p = Array.IndexOf(arguments, "-p");
            if (d < 0 || p < 0 || d + 1 >= arguments.Length || p + 1 >= arguments.Length
                || !arguments[d + 1].StartsWith(data, StringComparison.Ordinal)) continue;
            var passwordFile = Path.Combine(Path.GetDirectoryName(arguments[d + 1].TrimEnd('/'))!, "superuser-password");
            if (!File.Exists(passwordFile)) continue;
            return $"Host=127.0.0.1;Port={arguments[p + 1]};Username=postgres;Password={File.ReadAllText(passwordFile).Trim()};Database=personagym";
        }

        return null;
    }

    /// <summary>The one-minute load average (other work on the machine's cores); runs report the mean of their start and end.</summary>
    public static double LoadAverage() =>
        File.Exists("/proc/loadavg") ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture) : double.NaN;
}

/// <summary>One AppHost run: what each stage did at the simulator.</summary>
public sealed record AppHostResult(
    BenchOptions Options, int? JudgeReplicas, int? AgentReplicas, IReadOnlyDictionary<string, TimeSpan> Latency,
    IReadOnlyDictionary<string, ModelTraffic> Traffic, double WallSeconds, double LoadAverage,
    IReadOnlyList<ServiceProcess> ProcessesBefore, IReadOnlyList<ServiceProcess> ProcessesAfter)
{
    /// <summary>Each service's processes: peak RSS and CPU during the run (submission to the CLI's exit).</summary>
    public string ProcessLine() => ServiceProcesses.Describe(ProcessesBefore, ProcessesAfter, Calls);

    public int Calls => Traffic.Values.Sum(t => t.Served);

    public int Refused => Traffic.Values.Sum(t => t.Refused);

    /// <summary>Answers, from the first answer call's arrival to the last answer's end.</summary>
    public StageThroughput AnswerStage => Stage(Traffic.Where(t => t.Key == "bench-agent").Select(t => t.Value), Traffic.Where(t => t.Key == "bench-agent").Select(t => t.Value));

    /// <summary>Judge calls, from the judge stage's first call (exemplars or a judge) to the last judge call's end.</summary>
    public StageThroughput JudgeStage => Stage(
        Traffic.Where(t => t.Key.StartsWith("bench-judge-", StringComparison.Ordinal)).Select(t => t.Value),
        Traffic.Where(t => t.Key.StartsWith("bench-judge-", StringComparison.Ordinal) || t.Key == "bench-writer").Select(t => t.Value));

    private static StageThroughput Stage(IEnumerable<ModelTraffic> counted, IEnumerable<ModelTraffic> span)
    {
        var spans = span.Where(t => t.Served > 0).Select(t => t.Span).ToList();
        var calls = counted.Sum(t => t.Served);
        if (spans.Count == 0 || calls == 0) return new StageThroughput(0, 0);
        var seconds = Stopwatch.GetElapsedTime(spans.Min(s => s.First), spans.Max(s => s.Last)).TotalSeconds;
        return new StageThroughput(calls, seconds);
    }

    /// <summary>
    /// As in process: for each model ⌈its calls ÷ the capacity⌉ × its latency, the largest, plus one
    /// answer → exemplars → judge chain.
    /// </summary>
    public double BoundSeconds
    {
        get
        {
            double L(string model) => Latency.TryGetValue(model, out var l) ? l.TotalSeconds : 0;
            var allowed = Options.Capacity == 0 ? int.MaxValue : Options.Capacity;
            var busiest = Traffic.Max(t => Math.Ceiling(t.Value.Served / (double)allowed) * L(t.Key));
            return busiest + L("bench-agent") + L("bench-writer") + L("bench-judge-1");
        }
    }

    public string Row()
    {
        string L(string model) => Latency.TryGetValue(model, out var l) ? l.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) : "?";
        var (answer, judge) = (AnswerStage, JudgeStage);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {Options.Personas} | {JudgeReplicas?.ToString(CultureInfo.InvariantCulture) ?? "default (2)"} | {AgentReplicas?.ToString(CultureInfo.InvariantCulture) ?? "default (2)"} | {L("bench-agent")}/{L("bench-writer")}/{L("bench-judge-1")} s | {Calls} | {Refused} | {WallSeconds:0.0} | {(BoundSeconds > 0 ? BoundSeconds.ToString("0.0", CultureInfo.InvariantCulture) : "–")} | {(BoundSeconds > 0 ? (WallSeconds / BoundSeconds).ToString("0.00", CultureInfo.InvariantCulture) : "–")} | {answer.Calls}, {answer.Seconds:0.0}, {answer.PerSecond:0.00} | {judge.Calls}, {judge.Seconds:0.0}, {judge.PerSecond:0.00} | {LoadAverage:0.0} |");
    }
}

public sealed record StageThroughput(int Calls, double Seconds)
{
    public double PerSecond => Seconds > 0 ? Calls / Seconds : 0;
}
