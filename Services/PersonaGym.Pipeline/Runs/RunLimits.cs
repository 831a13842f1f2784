using System.ComponentModel.DataAnnotations;

namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// How big one run request may be (section <c>PersonaGym:Limits</c>), checked before anything is stored, by the CLI
/// and the Api alike. The defaults fit the paper's benchmark (200 personas, 10 questions per task) with room to spare;
/// docs/security.md lists them.
/// </summary>
public sealed class RunLimits
{
    public const string Section = "PersonaGym:Limits";

    [Range(1, 1_000_000)]
    public int MaxPersonasPerRun { get; set; } = 2000;

    [Range(1, Core.Personas.MaxLength)]
    public int MaxPersonaCharacters { get; set; } = Core.Personas.MaxLength;

    /// <summary>Model specs are stored in 400-character columns.</summary>
    [Range(8, 400)]
    public int MaxSpecCharacters { get; set; } = 300;

    [Range(1, 100)]
    public int MaxModelsPerRole { get; set; } = 10;

    [Range(1, RunSubmitter.MaxQuestionsPerTask)]
    public int MaxQuestionsPerTask { get; set; } = RunSubmitter.MaxQuestionsPerTask;

    [Range(1, 1000)]
    public int MaxEnvironments { get; set; } = 50;

    [Range(1, 400)]
    public int MaxNameCharacters { get; set; } = 200;

    /// <summary>
    /// Total work one request may create: personas × models under test × batches per persona (one batch = one answer
    /// call per question and one judge call per judge). 2000 personas × 2 agents × 10 batches by default.
    /// </summary>
    [Range(1, 100_000_000)]
    public long MaxBatchesPerRun { get; set; } = 40_000;

    /// <summary>The largest request body the Api reads (bytes).</summary>
    [Range(1024, 256L * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Why <paramref name="text"/> cannot be stored, or null: control characters other than tab and line breaks.</summary>
    public static string? ControlCharacterProblem(string text)
    {
        foreach (var c in text)
        {
            if (char.IsControl(c) && c is not ('\t' or '\n' or '\r')) return $"holds the control character U+{(int)c:X4}";
        }

        return null;
    }
}
