using System.Collections.Concurrent;
using System.Diagnostics;

namespace PersonaGym.Testing;

/// <summary>Runs the servers' command-line tools, keeping their output for error messages.</summary>
internal static class ExternalProcess
{
    /// <summary>
    /// A start description for <paramref name="fileName"/>, run as <paramref name="user"/> through
    /// <c>runuser</c> when this process is root (PostgreSQL refuses to run as root).
    /// </summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string? user)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (user is not null && Environment.IsPrivilegedProcess)
        {
            info.FileName = "runuser";
            foreach (var argument in new[] { "-u", user, "--", fileName }) info.ArgumentList.Add(argument);
        }
        else
        {
            info.FileName = fileName;
        }
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        return info;
    }

    /// <summary>Starts a long-running process whose output lines are collected in <paramref name="log"/>.</summary>
    public static Process Start(ProcessStartInfo info, ConcurrentQueue<string> log)
    {
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Append(log, e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Append(log, e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs a command to completion; throws with its output when it fails or takes too long.</summary>
    public static async Task<string> RunAsync(ProcessStartInfo info, TimeSpan timeout)
    {
        var log = new ConcurrentQueue<string>();
        using var process = Start(info, log);
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"'{Describe(info)}' did not finish within {timeout}.\n{Tail(log)}");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{Describe(info)}' failed with exit code {process.ExitCode}.\n{Tail(log)}");
        }
        return string.Join('\n', log);
    }

    public static string Describe(ProcessStartInfo info) => string.Join(' ', [info.FileName, .. info.ArgumentList]);

    /// <summary>The last lines of a log, for an error message.</summary>
    public static string Tail(ConcurrentQueue<string> log, int lines = 40) => string.Join('\n', log.TakeLast(lines));

    /// <summary>Gives a folder to an OS user, so a server running as that user can write into it.</summary>
    public static Task ChownAsync(string path, string user) =>
        RunAsync(StartInfo("chown", ["-R", $"{user}:{user}", path], user: null), TimeSpan.FromSeconds(30));

    private static void Append(ConcurrentQueue<string> log, string line)
    {
        log.Enqueue(line);
        while (log.Count > 500) log.TryDequeue(out _);
    }
}
