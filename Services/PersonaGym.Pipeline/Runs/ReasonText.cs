namespace PersonaGym.Pipeline.Runs;

/// <summary>Texts that go into a run's one-line reasons (why it cannot progress, why it failed).</summary>
public static class ReasonText
{
    /// <summary>
    /// An exception's message as the cause in a one-line reason: its first line, at most <paramref name="max"/> characters.
    /// A client library's message can carry a whole close frame or stack; a stall reason has to stay readable (and the
    /// text after the cause, e.g. what it means for the run, must not be cut off).
    /// </summary>
    public static string Brief(string message, int max = 200)
    {
        var line = message.AsSpan().Trim();
        var end = line.IndexOfAny('\r', '\n');
        if (end >= 0) line = line[..end].TrimEnd();
        return line.Length <= max ? line.ToString() : string.Concat(line[..(max - 1)].TrimEnd(), "…");
    }
}
