using System.Diagnostics;

namespace PersonaGym.Pipeline.Tests.Support;

/// <summary>Polls a condition (usually a database query) until it holds, instead of sleeping a fixed time.</summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(condition, () => Task.FromResult(what), timeout);

    /// <param name="describe">What was waited for and where things stand, read when the wait times out.</param>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<Task<string>> describe, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"Waited {limit} for {await describe()}.");
            await Task.Delay(25);
        }
    }
}
