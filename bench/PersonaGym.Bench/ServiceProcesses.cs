using System.Globalization;
using System.Text.RegularExpressions;

namespace PersonaGym.Bench;

/// <summary>One process under the AppHost: which service (or server) it is, its peak resident set and its CPU so far.</summary>
public sealed record ServiceProcess(string Name, int Pid, double PeakRssMb, double CpuSeconds);

/// <summary>
/// The processes the AppHost started, read from <c>/proc</c>: every descendant of the AppHost's process that runs a
/// PersonaGym service (its executable or <c>PersonaGym.X.dll</c>), the <c>dotnet run</c> launchers that started them,
/// PostgreSQL or RabbitMQ. Peak RSS is the kernel's high-water mark (<c>VmHWM</c>), so one look at the end sees the process's peak.
/// </summary>
public static partial class ServiceProcesses
{
    private const double TicksPerSecond = 100; // USER_HZ: 100 on Linux everywhere .NET runs

    public static IReadOnlyList<ServiceProcess> Sample(int root)
    {
        if (!OperatingSystem.IsLinux()) return [];
        // One read of each process's stat and command line; everything below works from these.
        var processes = new Dictionary<int, ((int Parent, long CpuTicks) Stat, string[] Arguments)>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid)) continue;
            if (ReadStat(pid) is { } stat) processes[pid] = (stat, Arguments(pid));
        }

        // Aspire's orchestrator (dcp) leaves the AppHost's process tree (its parent becomes init) and watches the AppHost
        // through '--monitor PID': it and what it starts belong to this AppHost too.
        int? Watched(string[] arguments)
        {
            var monitor = Array.IndexOf(arguments, "--monitor");
            return monitor >= 0 && monitor + 1 < arguments.Length && int.TryParse(arguments[monitor + 1], CultureInfo.InvariantCulture, out var pid)
                ? pid : null;
        }

        var descendants = new HashSet<int> { root };
        bool grew;
        do
        {
            grew = false;
            foreach (var (pid, process) in processes)
            {
                if ((descendants.Contains(process.Stat.Parent) || Watched(process.Arguments) is { } watched && descendants.Contains(watched))
                    && descendants.Add(pid)) grew = true;
            }
        }
        while (grew);

        var found = new List<ServiceProcess>();
        foreach (var pid in descendants)
        {
            if (pid == root || !processes.TryGetValue(pid, out var process) || NameOf(process.Arguments) is not { } name) continue;
            found.Add(new ServiceProcess(name, pid, PeakRssMb(pid), process.Stat.CpuTicks / TicksPerSecond));
        }

        return found;
    }

    /// <summary>
    /// Waits until the services (not the servers) together use less than a tenth of a core over 3 s; false when they are
    /// still busier than that after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<bool> WaitIdleAsync(int root, TimeSpan timeout)
    {
        var window = TimeSpan.FromSeconds(3);
        var deadline = DateTime.UtcNow + timeout;
        var before = Sample(root);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(window);
            var after = Sample(root);
            if (ServicesCpu(before, after) / window.TotalSeconds < 0.1) return true;
            before = after;
        }

        return false;
    }

    private static double ServicesCpu(IReadOnlyList<ServiceProcess> before, IReadOnlyList<ServiceProcess> after) =>
        CpuSince(before, after.Where(p => IsService(p.Name)));

    /// <summary>The CPU seconds <paramref name="processes"/> spent since <paramref name="before"/> (a process started in between counts from zero).</summary>
    private static double CpuSince(IReadOnlyList<ServiceProcess> before, IEnumerable<ServiceProcess> processes)
    {
        var start = before.ToDictionary(p => p.Pid, p => p.CpuSeconds);
        return processes.Sum(p => p.CpuSeconds - start.GetValueOrDefault(p.Pid));
    }

    private static bool IsService(string name) => name is "agent-runner" or "question-generator" or "judge" or "api" or "web";

    /// <summary>
    /// One line per kind: <c>judge 4× 151–163 MB, 12.3 s CPU</c>. CPU is the difference between two samples (processes that
    /// started in between count from zero).
    /// </summary>
    public static string Describe(IReadOnlyList<ServiceProcess> before, IReadOnlyList<ServiceProcess> after, int calls)
    {
        var parts = new List<string>();
        foreach (var kind in after.GroupBy(p => p.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var cpu = CpuSince(before, kind);
            var (low, high) = (kind.Min(p => p.PeakRssMb), kind.Max(p => p.PeakRssMb));
            var rss = kind.Count() == 1 || Math.Abs(high - low) < 0.5 ? $"{high:0} MB" : $"{low:0}–{high:0} MB";
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{kind.Key} {kind.Count()}× {rss} peak, {cpu:0.0} s CPU"));
        }

        var perCall = calls > 0 ? string.Create(CultureInfo.InvariantCulture, $"; services' CPU {1000 * ServicesCpu(before, after) / calls:0.00} ms per call") : "";
        return "processes: " + string.Join("; ", parts) + perCall;
    }

    /// <summary>The service a process runs, <c>postgres</c>, <c>rabbitmq</c>, or null for anything else.</summary>
    private static string? NameOf(string[] arguments)
    {
        if (arguments.Length == 0) return null;
        // 'dotnet run --project …/PersonaGym.Judge.csproj' only starts the service and waits (the AppHost runs projects
        // that way locally; a container runs the service itself): listed apart, not counted as the service.
        if (arguments.Any(a => a.EndsWith(".csproj", StringComparison.Ordinal))) return "dotnet-run launcher";
        foreach (var argument in arguments.Take(2))
        {
            var match = ServiceName().Match(Path.GetFileName(argument));
            if (match.Success) return Kebab(match.Groups[1].Value);
        }

        var program = Path.GetFileName(arguments[0]);
        if (program == "PersonaGym.AppHost" || arguments.Take(2).Any(a => a.EndsWith("PersonaGym.AppHost.dll", StringComparison.Ordinal))) return "apphost";
        if (arguments.Take(2).Any(a => a.Contains("Aspire.Dashboard", StringComparison.Ordinal))) return "aspire-dashboard";
        if (program == "dcp") return "aspire-dcp";
        // The server's own processes rename themselves ("postgres: checkpointer", "postgres: user db 127.0.0.1(…) idle").
        if (program.StartsWith("postgres", StringComparison.Ordinal) || arguments[0].Contains("/postgresql/", StringComparison.Ordinal)) return "postgres";
        if (program is "beam.smp" or "erl_child_setup" or "epmd" || arguments.Any(a => a.Contains("rabbit", StringComparison.Ordinal))) return "rabbitmq";
        return null;
    }

    private static string[] Arguments(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    private static string Kebab(string name) => KebabBoundary().Replace(name, "$1-$2").ToLowerInvariant();

    private static double PeakRssMb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var kb = double.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kb / 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }

    private static (int Parent, long CpuTicks)? ReadStat(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // The command name (field 2) is in parentheses and may hold spaces: fields are counted after its ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        // After the name: state, ppid, …; utime and stime are fields 14 and 15 of the whole line (11 and 12 here).
        return (int.Parse(fields[1], CultureInfo.InvariantCulture),
            long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^PersonaGym\.(AgentRunner|QuestionGenerator|Judge|Api|Web)(\.dll)?$")]
    private static partial Regex ServiceName();

    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex KebabBoundary();
}
