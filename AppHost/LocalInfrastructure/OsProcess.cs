using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace PersonaGym.AppHost.LocalInfrastructure;

/// <summary>The few operating-system operations the local servers need (Linux and macOS).</summary>
internal static class OsProcess
{
    public const int SigKill = 9;
    public const int SigInt = 2;
    public const int SigTerm = 15;

    public static bool IsRoot => !OperatingSystem.IsWindows() && geteuid() == 0;

    /// <summary>
    /// Whether <paramref name="user"/> can pass through every parent of <paramref name="directory"/> and into it
    /// (asked of the system as that user, so ACLs and group rights count). Needs root, like the switch of user itself.
    /// </summary>
    public static bool CanReachAs(string user, string directory) =>
        // Asked while the AppHost builds its model, which is synchronous; a console host has no context to deadlock.
        RunAsync(Setpriv, [.. AsUser(user), "test", "-d", directory, "-a", "-x", directory], CancellationToken.None)
            .GetAwaiter().GetResult().ExitCode == 0;

    /// <summary>util-linux's switch of user, which then execs the command: the process started is the command itself.</summary>
    public const string Setpriv = "setpriv";

    /// <summary><see cref="Setpriv"/>'s arguments that run the command following them as <paramref name="user"/>.</summary>
    public static string[] AsUser(string user) => [$"--reuid={user}", $"--regid={user}", "--init-groups", "--"];

    /// <summary>Finds an executable: in <paramref name="directory"/> when given, else in the candidates, else on PATH.</summary>
    public static string? FindExecutable(string name, string? directory, IEnumerable<string> candidateDirectories)
    {
        if (directory is not null)
        {
            var configured = Path.Combine(directory, name);
            return File.Exists(configured) ? configured : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return candidateDirectories
            .Concat(path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            .Select(candidate => Path.Combine(candidate, name))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Runs a command to completion and returns its exit code and combined output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)
            ?? throw new DistributedApplicationException($"Could not start {fileName}.");
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        output.Append(await stdout).Append(await stderr);
        return (process.ExitCode, output.ToString());
    }

    /// <summary>
    /// Stops a server left over from an earlier run that ended without stopping it (a killed AppHost):
    /// its pid file names a live process, which would hold the data folder's lock.
    /// </summary>
    public static async Task StopLeftoverAsync(string pidFile, string expectedCommand, int signal, ILogger logger, CancellationToken cancellationToken)
    {
        if (!File.Exists(pidFile))
        {
            return;
        }

        var firstLine = (await File.ReadAllLinesAsync(pidFile, cancellationToken)).FirstOrDefault();
        if (!int.TryParse(firstLine, out var pid) || !IsRunning(pid, expectedCommand))
        {
            // A stale file from a crash: the servers themselves ignore it once its process is gone.
            return;
        }

        logger.LogWarning("Stopping {Command} (pid {Pid}) left running by an earlier run", expectedCommand, pid);
        _ = kill(pid, signal);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (IsRunning(pid, expectedCommand) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250, cancellationToken);
        }

        if (IsRunning(pid, expectedCommand))
        {
            _ = kill(pid, SigKill);
            await Task.Delay(500, cancellationToken);
        }
    }

    private static bool IsRunning(int pid, string expectedCommand)
    {
        // /proc tells whether the pid was reused by something else; without /proc, trust the signal probe.
        var cmdline = $"/proc/{pid}/cmdline";
        if (Directory.Exists("/proc/self"))
        {
            try
            {
                return File.Exists(cmdline) && File.ReadAllText(cmdline).Contains(expectedCommand, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        }

        return kill(pid, 0) == 0;
    }

    // Plain DllImport: both signatures are blittable, and LibraryImport would need unsafe code enabled.
    [DllImport("libc")]
    private static extern uint geteuid();

    [DllImport("libc")]
    private static extern int kill(int pid, int signal);
}
