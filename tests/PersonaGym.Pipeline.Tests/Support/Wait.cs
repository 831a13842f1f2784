using System.Diagnostics;

namespace PersonaGym.Pipeline.Tests.Support;

/// <summary>Polls a condition (usually a database query) until it holds, instead of sleeping a fixed time.</summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"Waited {limit} for {what}.");
            await Task.Delay(25);
        }
    }
}
