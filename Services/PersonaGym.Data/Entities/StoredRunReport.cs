namespace PersonaGym.Data;

/// <summary>
/// A run's report as computed from its evidence (the JSON of docs/output-format.md), kept so that reading a report
/// does not recompute it from every verdict. It is a cache of a derived value, never a source: it is served only while
/// <see cref="Fingerprint"/> still equals the fingerprint of the run's current evidence, and recomputed otherwise.
/// </summary>
public sealed class StoredRunReport
{
    public Guid RunId { get; set; }

    /// <summary>Means over every persona with a score (<c>?includeIncomplete=true</c>), not only the complete ones.</summary>
    public bool IncludeIncomplete { get; set; }

    /// <summary>The fingerprint of everything the report was computed from (SHA-256, hex), read in the same snapshot.</summary>
    public required string Fingerprint { get; set; }

    public required string Json { get; set; }

    public DateTimeOffset ComputedAt { get; set; }
}
