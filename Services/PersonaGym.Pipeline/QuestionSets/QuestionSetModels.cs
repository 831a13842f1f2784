using PersonaGym.Core.Benchmark;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.QuestionSets;

/// <summary>A stored question set and its size.</summary>
/// <param name="Personas">Personas whose questions are ready.</param>
/// <param name="Questions">Every question stored in the set.</param>
public sealed record QuestionSetSummary(
    Guid Id,
    string Name,
    string Version,
    QuestionSetSource Source,
    bool Frozen,
    DateTimeOffset CreatedAt,
    string? Description,
    int Personas,
    int Questions)
{
    /// <summary>How runs name the set: <c>name@version</c>.</summary>
    public string Reference => $"{Name}@{Version}";
}

public enum QuestionSetImportOutcome
{
    /// <summary>The set was stored.</summary>
    Imported,
    /// <summary>A set of that name and version holds exactly this content already; nothing was stored.</summary>
    AlreadyImported,
    /// <summary>A set of that name and version holds other content; nothing was stored.</summary>
    Conflict,
}

/// <param name="Set">The set now stored (or, on a conflict, the one already stored under that name and version).</param>
public sealed record QuestionSetImportResult(QuestionSetImportOutcome Outcome, QuestionSetSummary Set);

/// <summary>A set in the original benchmark's terms.</summary>
/// <param name="Personas">Personas with questions for every task, in the set's order.</param>
/// <param name="Environments">The environments the questions are set in, or null when none are recorded.</param>
/// <param name="Incomplete">Personas left out because their questions are not complete, one line each.</param>
public sealed record QuestionSetContent(
    QuestionSetSummary Set,
    IReadOnlyList<BenchmarkPersona> Personas,
    IReadOnlyList<string>? Environments,
    IReadOnlyList<string> Incomplete);

/// <summary>What <see cref="QuestionSetCatalog.ExportAsync"/> wrote.</summary>
/// <param name="Skipped">Personas left out because their questions are not complete.</param>
public sealed record QuestionSetExport(
    QuestionSetSummary Set,
    string Directory,
    int Personas,
    int Questions,
    bool WroteEnvironments,
    IReadOnlyList<string> Skipped);

/// <summary>A question-set operation that cannot be done; <see cref="Details"/> lists the reasons item by item.</summary>
public sealed class QuestionSetException(string message, IReadOnlyList<string> details) : Exception(message)
{
    public IReadOnlyList<string> Details { get; } = details;
}
