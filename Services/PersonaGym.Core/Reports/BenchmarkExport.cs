using System.Globalization;
using System.Text;
using PersonaGym.Core.Benchmark;

namespace PersonaGym.Core.Reports;

/// <summary>
/// Per model under test, the files a benchmark user compares with the paper: the original's scores.json shape
/// (<see cref="BenchmarkFormat.ScoresJson"/>) and a per-persona, per-task CSV; plus the judges' validity when known.
/// </summary>
public static class BenchmarkExport
{
    public const string ScoresSuffix = ".scores.json";
    public const string PersonasSuffix = ".personas.csv";
    public const string JudgeValidityFile = "judge-validity.json";

    // Well under the common 255-character file-name limit, with room for the suffixes and a collision number.
    private const int MaxStemLength = 120;

    /// <summary>The per-persona CSV's header, in column order.</summary>
    public static IReadOnlyList<string> PersonasCsvHeader { get; } = ["persona", "task", "score", "judgements", "parseFailures", "complete"];

    /// <summary>
    /// Writes <c>&lt;model&gt;.scores.json</c> and <c>&lt;model&gt;.personas.csv</c> for every model (file names per
    /// <see cref="ModelFileNames"/>), and <c>judge-validity.json</c> when the report has judge validity. The folder is
    /// created if needed; files of the same name are replaced atomically. Returns the paths written, in that order.
    /// </summary>
    public static IReadOnlyList<string> WriteModelExports(RunReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var written = new List<string>();
        var names = ModelFileNames(report.Models.Select(m => m.Agent).ToList());
        for (var i = 0; i < report.Models.Count; i++)
        {
            var model = report.Models[i];
            var scores = Path.Combine(directory, names[i] + ScoresSuffix);
            ReportFiles.WriteAtomically(scores, BenchmarkFormat.ScoresJson(model.Overall));
            written.Add(scores);

            var personas = Path.Combine(directory, names[i] + PersonasSuffix);
            ReportFiles.WriteAtomically(personas, PersonasCsv(model));
            written.Add(personas);
        }

        if (report.JudgeValidity is { } validity)
        {
            var path = Path.Combine(directory, JudgeValidityFile);
            ReportFiles.WriteAtomically(path, RunReportWriter.JudgeValidityJson(validity));
            written.Add(path);
        }
        return written;
    }

    /// <summary>
    /// One row per persona × task (tasks in the paper's order): full-precision score (empty when it could not be
    /// computed), verdicts counted, verdicts that could not be parsed, and whether the persona is complete: the
    /// model's means (scores.json) count complete personas only, so averaging every row would give another number.
    /// </summary>
    public static string PersonasCsv(ModelReport model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var rows = new List<IEnumerable<string?>> { PersonasCsvHeader };
        foreach (var persona in model.Personas)
        {
            foreach (var task in PersonaTasks.All)
            {
                var scores = persona.Scores[task];
                rows.Add([
                    persona.Persona,
                    task.DisplayName(),
                    RunReportWriter.FormatNumber(scores.Score),
                    scores.Judgements.ToString(CultureInfo.InvariantCulture),
                    scores.ParseFailures.ToString(CultureInfo.InvariantCulture),
                    persona.Scores.Complete ? "true" : "false",
                ]);
            }
        }
        return Csv.FormatTable(rows);
    }

    /// <summary>
    /// A file-name stem per model spec: letters, digits, '.', '-' and '_' kept, every other run of characters (the
    /// provider's ':', an endpoint's '/' and '@'…) one '-'. Stems that would collide, ignoring case as some file
    /// systems do, get "-2", "-3"… in model order, so no model's files overwrite another's.
    /// </summary>
    public static IReadOnlyList<string> ModelFileNames(IReadOnlyList<string> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var names = new List<string>(models.Count);
        foreach (var model in models)
        {
            var stem = Stem(model);
            var name = stem;
            for (var n = 2; !taken.Add(name); n++) name = stem + "-" + n.ToString(CultureInfo.InvariantCulture);
            names.Add(name);
        }
        return names;
    }

    private static string Stem(string model)
    {
        var stem = new StringBuilder();
        foreach (var c in model ?? "")
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_') stem.Append(c);
            else if (stem.Length > 0 && stem[^1] != '-') stem.Append('-');
        }
        // No leading dot (a hidden file) and no trailing '-' or '.' (Windows drops trailing dots).
        var text = stem.ToString().Trim('-', '.');
        if (text.Length > MaxStemLength) text = text[..MaxStemLength].TrimEnd('-', '.');
        return text.Length == 0 ? "model" : text;
    }
}
