namespace PersonaGym.Data;

/// <summary>
/// One process's current concurrency limit for one model, as its adaptive limiter has found it. Workers are separate
/// processes, so each reports its limiters here every few seconds (one row per model and process, overwritten), and
/// the Api and <c>show</c> read them; rows of a process that stopped reporting go stale and are left out.
/// </summary>
public sealed class ModelConcurrencyReport
{
    /// <summary>The model spec, as runs name it.</summary>
    public required string Model { get; set; }

    /// <summary>The reporting process (host name and process id).</summary>
    public required string Process { get; set; }

    public int Limit { get; set; }

    public int Ceiling { get; set; }

    public int InFlight { get; set; }

    public int Waiting { get; set; }

    public DateTimeOffset ReportedAt { get; set; }
}
