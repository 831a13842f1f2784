using System.Globalization;

namespace PersonaGym.Bench;

/// <summary>The harness's command line.</summary>
public sealed record BenchOptions
{
    public const string Usage = """
        Usage: dotnet run --project bench/PersonaGym.Bench -c Release -- [options]
          --personas N          benchmark personas to run (default 50)
          --judges N            judge models (default 2)
          --latency S[,S…]      seconds every simulated model takes to answer; one run per value (default 0.5)
          --capacity N          calls one model serves at once before answering 429 (default 64; 0 = unlimited)
          --retry-after-ms MS   the wait each 429 asks for (default 1000)
          --headers             send x-ratelimit-remaining-requests with every answer
          --set KEY=VALUE       a setting for the run, as an environment variable (e.g. PersonaGym__Models__MaxConcurrency=32)
          --repo DIR            the repository (default: found from the harness's location)
          --cli FILE            the CLI to run (default: the repository's Release build; e.g. a ReadyToRun publish, see bench/README.md)
          --trace FILE          sample the run's CPU with dotnet-trace into FILE (.nettrace; dotnet-trace on PATH)
          --verbose             start-up and end around the calls, per-model counts, the run's output
        AppHost mode (the whole system through the AppHost, local PostgreSQL/RabbitMQ, the run submitted to the Api):
          --apphost             run through the AppHost instead of in one process (needs a build of AppHost/)
          --api URL             where the AppHost's Api listens (default http://localhost:5180)
          --configuration C     Debug (default, what `dotnet run --project AppHost` builds) or Release: the AppHost's build,
                                which its services run in too (build it first: dotnet build AppHost -c Release)
          --judge-replicas N    Judge:Replicas (default: the AppHost's, 2)
          --agent-replicas N    AgentRunner:Replicas (default: the AppHost's, 2)
          --role-latency R=S    seconds for one role, R = agent, writer or judge (repeatable; others take --latency)
          --warmup N            personas of two unmeasured runs first in the same AppHost, with models of other names
                                (default 2; 0 = none): start-up and JIT compilation fall outside the measured run
          --idle S              before the run, let the system settle S seconds, then watch it idle S seconds: each
                                process's CPU while nothing is submitted
          --compare STAGE       STAGE = judge or agent-runner: runs its replicas 1 and then 4 with that role at 2 s
                                (unless --role-latency sets it) and prints the stage-throughput ratio
        Needs PERSONAGYM_BENCHMARK_DIR and a Release build of the CLI.
        """;

    public int Personas { get; init; } = 50;

    public int Judges { get; init; } = 2;

    public IReadOnlyList<TimeSpan> Latencies { get; init; } = [TimeSpan.FromSeconds(0.5)];

    public int Capacity { get; init; } = 64;

    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    public bool RateLimitHeaders { get; init; }

    public Dictionary<string, string> Settings { get; init; } = [];

    public string? Repository { get; init; }

    public string? Cli { get; init; }

    public bool Verbose { get; init; }

    public string? Trace { get; init; }

    public bool AppHost { get; init; }

    public string ApiUrl { get; init; } = "http://localhost:5180";

    /// <summary>The build of the AppHost (and so of the services it starts) to run: Debug, as <c>dotnet run</c> gives, or Release.</summary>
    public string Configuration { get; init; } = "Debug";

    public int? JudgeReplicas { get; init; }

    public int? AgentReplicas { get; init; }

    /// <summary>Personas of each of the two unmeasured warm-up runs before the measured one (AppHost mode); 0 = none.</summary>
    public int WarmupPersonas { get; init; } = 2;

    /// <summary>Seconds to watch the system idle before the run (AppHost mode), 0 = not measured.</summary>
    public double IdleSeconds { get; init; }

    public Dictionary<string, TimeSpan> RoleLatency { get; init; } = new(StringComparer.Ordinal);

    /// <summary>judge or agent-runner: the replica comparison of that stage (AppHost mode).</summary>
    public string? Compare { get; init; }

    /// <summary>The configured ceiling of calls in flight per model, if the run was given one.</summary>
    public int? ConfiguredCeiling =>
        Settings.TryGetValue("PersonaGym__Models__MaxConcurrency", out var value) && int.TryParse(value, out var ceiling) ? ceiling : null;

    public static BenchOptions? Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                options = args[i] switch
                {
                    "--personas" => options with { Personas = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--judges" => options with { Judges = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--latency" => options with { Latencies = Next().Split(',').Select(s => TimeSpan.FromSeconds(double.Parse(s, CultureInfo.InvariantCulture))).ToList() },
                    "--capacity" => options with { Capacity = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--retry-after-ms" => options with { RetryAfter = TimeSpan.FromMilliseconds(double.Parse(Next(), CultureInfo.InvariantCulture)) },
                    "--headers" => options with { RateLimitHeaders = true },
                    "--set" => options with { Settings = new Dictionary<string, string>(options.Settings) { [Next().Split('=', 2)[0]] = args[i].Split('=', 2) is [_, var v] ? v : "" } },
                    "--repo" => options with { Repository = Next() },
                    "--cli" => options with { Cli = Path.GetFullPath(Next()) },
                    "--verbose" => options with { Verbose = true },
                    "--trace" => options with { Trace = Path.GetFullPath(Next()) },
                    "--apphost" => options with { AppHost = true },
                    "--api" => options with { ApiUrl = Next() },
                    "--configuration" => options with { AppHost = true, Configuration = Next() is "Debug" or "Release" ? args[i] : throw new ArgumentException("--configuration takes Debug or Release") },
                    "--judge-replicas" => options with { JudgeReplicas = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--agent-replicas" => options with { AgentReplicas = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--warmup" => options with { WarmupPersonas = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--idle" => options with { IdleSeconds = double.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--role-latency" => options with { RoleLatency = RoleLatencyWith(options.RoleLatency, Next()) },
                    "--compare" => options with { AppHost = true, Compare = Next() is "judge" or "agent-runner" ? args[i] : throw new ArgumentException("--compare takes judge or agent-runner") },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine(ex.Message);
                return null;
            }
        }

        return options.Personas > 0 && options.Judges > 0 && options.Capacity >= 0
            && options.JudgeReplicas is null or > 0 && options.AgentReplicas is null or > 0 && options.WarmupPersonas >= 0 && options.IdleSeconds >= 0 ? options : null;
    }

    private static Dictionary<string, TimeSpan> RoleLatencyWith(Dictionary<string, TimeSpan> current, string value)
    {
        var parts = value.Split('=', 2);
        if (parts.Length != 2 || parts[0] is not ("agent" or "writer" or "judge"))
            throw new ArgumentException($"--role-latency {value}: expected agent=S, writer=S or judge=S");
        return new Dictionary<string, TimeSpan>(current, StringComparer.Ordinal)
        {
            [parts[0]] = TimeSpan.FromSeconds(double.Parse(parts[1], CultureInfo.InvariantCulture)),
        };
    }
}

/// <summary>One measured run and the bound the simulated provider allows it.</summary>
public sealed record BenchResult(
    BenchOptions Options, TimeSpan Latency, IReadOnlyDictionary<string, ModelTraffic> Traffic, double WallSeconds, double CpuSeconds, double PeakRssMb, double LoadAverage)
{
    public const string Header = "| personas | latency | capacity | ceiling | calls | 429s | wall s | bound s | wall ÷ bound | CPU ms/call | peak RSS MB | load |\n|---|---|---|---|---|---|---|---|---|---|---|---|";

    public int Calls => Traffic.Values.Sum(t => t.Served);

    public int Refused => Traffic.Values.Sum(t => t.Refused);

    /// <summary>Calls each model may have in flight: the provider's capacity, or a configured ceiling below it.</summary>
    public int Allowed => (Options.Capacity, Options.ConfiguredCeiling) switch
    {
        (0, { } ceiling) => ceiling,
        (var capacity, { } ceiling) => Math.Min(capacity, ceiling),
        (0, null) => int.MaxValue,
        (var capacity, null) => capacity,
    };

    /// <summary>
    /// The shortest the run can take: the busiest model's calls ÷ its allowed concurrency × latency, plus one
    /// answer-then-exemplars-then-judge chain (the last batch cannot be judged before it is answered).
    /// </summary>
    public double BoundSeconds =>
        Traffic.Values.Max(t => Math.Ceiling(t.Served / (double)Allowed)) * Latency.TotalSeconds + 3 * Latency.TotalSeconds;

    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"| {Options.Personas} | {Latency.TotalSeconds:0.###} s | {(Options.Capacity == 0 ? "∞" : Options.Capacity)} | {Options.ConfiguredCeiling?.ToString(CultureInfo.InvariantCulture) ?? "none"} | {Calls} | {Refused} ({100.0 * Refused / Math.Max(1, Calls + Refused):0.0} %) | {WallSeconds:0.0} | {(BoundSeconds > 0 ? BoundSeconds.ToString("0.0", CultureInfo.InvariantCulture) : "–")} | {(BoundSeconds > 0 ? (WallSeconds / BoundSeconds).ToString("0.00", CultureInfo.InvariantCulture) : "–")} | {1000 * CpuSeconds / Math.Max(1, Calls):0.00} | {PeakRssMb:0} | {LoadAverage:0.0} |");

    public string Detail() => string.Join('\n', Traffic.OrderBy(t => t.Key, StringComparer.Ordinal)
        .Select(t => string.Create(CultureInfo.InvariantCulture, $"  {t.Key}: {t.Value.Served} served, {t.Value.Refused} refused, at most {t.Value.MaxInFlight} in flight")));
}
