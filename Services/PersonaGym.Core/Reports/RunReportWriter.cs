using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PersonaGym.Core.Benchmark;
using PersonaGym.Core.Prompts;
using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Reports;

/// <summary>
/// Writes a <see cref="RunReport"/> as JSON (the documented, stable shape of docs/output-format.md), as a CSV table
/// (one row per model × persona) or as a Markdown report for people.
/// </summary>
public static class RunReportWriter
{
    /// <summary>Bumped when a field changes meaning or disappears; adding fields does not bump it.</summary>
    public const int FormatVersion = 1;

    public const string JsonFormat = "json";
    public const string CsvFormat = "csv";
    public const string MarkdownFormat = "markdown";

    /// <summary>The file extensions <see cref="Write"/> accepts, and the format each one selects.</summary>
    public static IReadOnlyDictionary<string, string> FormatsByExtension { get; } =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [".json"] = JsonFormat,
            [".csv"] = CsvFormat,
            [".md"] = MarkdownFormat,
            [".markdown"] = MarkdownFormat,
        };

    /// <summary>The CSV's header, in column order.</summary>
    public static IReadOnlyList<string> CsvHeader { get; } =
        ["agent", "persona", "status", .. PersonaTasks.All.Select(t => t.DisplayName()), BenchmarkFormat.PersonaScoreKey, "parseFailures",
         "complete", "missingBatches", "missingJudgements"];

    // The JSON's layout and escaping: the serializer writes through a writer with these options.
    private static readonly JsonWriterOptions JsonOptions = new()
    {
        Indented = true,
        // Persona texts stay readable (accents, quotes, apostrophes); the output is a file or an HTTP body, never HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// The run as JSON: camelCase fields, task keys as the paper prints them ("Expected Action"…), full-precision
    /// scores (a figure that could not be computed is null) plus each model's "rounded" two-decimal figures as the
    /// published tables print them, times in ISO 8601 with offset.
    /// </summary>
    public static string ToJson(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return Serialize(AsJson(report), ReportJsonContext.Default.RunReportJson);
    }

    /// <summary>
    /// A pure table, one row per model × persona: <see cref="CsvHeader"/>, full-precision scores in invariant culture
    /// (empty where a score could not be computed), RFC 4180 quoting, CRLF line ends.
    /// </summary>
    public static string ToCsv(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = new List<IEnumerable<string?>> { CsvHeader };
        foreach (var model in report.Models)
        {
            foreach (var persona in model.Personas)
            {
                rows.Add([
                    model.Agent,
                    persona.Persona,
                    persona.Status,
                    .. PersonaTasks.All.Select(t => FormatNumber(persona.Scores[t].Score)),
                    FormatNumber(persona.Scores.PersonaScore),
                    persona.Scores.ParseFailures.ToString(CultureInfo.InvariantCulture),
                    persona.Scores.Complete ? "true" : "false",
                    persona.Scores.MissingBatches.ToString(CultureInfo.InvariantCulture),
                    persona.Scores.MissingJudgements.ToString(CultureInfo.InvariantCulture),
                ]);
            }
        }
        return Csv.FormatTable(rows);
    }

    /// <summary>A readable report: scores to two decimals, the offline disclaimer in bold first when it applies.</summary>
    public static string ToMarkdown(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        md.Append("# PersonaGym run ").Append(Cell(report.Name ?? report.RunId.ToString())).Append("\n\n");
        if (report.Disclaimer is { } disclaimer)
            md.Append("**").Append(Capitalize(disclaimer)).Append(".** The scores below come from a deterministic stand-in and measure nothing.\n\n");

        md.Append("| | |\n|---|---|\n");
        md.Append("| Run | `").Append(report.RunId).Append("` |\n");
        md.Append("| Status | ").Append(Cell(report.Status)).Append(" |\n");
        md.Append("| Created | ").Append(FormatTime(report.CreatedAt)).Append(" |\n");
        md.Append("| Completed | ").Append(report.CompletedAt is { } done ? FormatTime(done) : "—").Append(" |\n");
        md.Append("| Question set | ").Append(Cell(report.QuestionSet)).Append(" |\n");
        md.Append("| Questions per task | ").Append(report.QuestionsPerTask.ToString(CultureInfo.InvariantCulture)).Append(" |\n");
        md.Append("| Judges | ").Append(report.Judges.Count == 0 ? "—" : string.Join(", ", report.Judges.Select(Code))).Append(" |\n");
        md.Append("| Question writer | ").Append(Code(report.QuestionWriter)).Append(" |\n");
        if (report.Environments is { } environments) md.Append("| Environments | ").Append(Cell(environments)).Append(" |\n");
        md.Append("| Exemplar writer | ").Append(Code(report.ExemplarWriter)).Append(" |\n\n");

        foreach (var model in report.Models) AppendModel(md, model);
        AppendUsage(md, report.Usage);
        AppendJudgeValidity(md, report.JudgeValidity);

        if (report.Warnings.Count > 0)
        {
            md.Append("## Warnings\n\n");
            foreach (var warning in report.Warnings) md.Append("- ").Append(PromptTemplate.OneLine(warning)).Append('\n');
            md.Append('\n');
        }

        md.Append("## Problems\n\n");
        if (report.Problems.Count == 0) md.Append("None.\n");
        foreach (var problem in report.Problems) md.Append("- ").Append(PromptTemplate.OneLine(problem)).Append('\n');
        return md.ToString();
    }

    /// <summary>
    /// Writes the report in the format its extension selects (.json, .csv, .md or .markdown, any case), atomically:
    /// the text goes to a temporary file next to <paramref name="path"/> that then replaces it, so a reader never sees
    /// half a report. Missing folders are created. Returns the format name ("json", "csv" or "markdown").
    /// </summary>
    /// <exception cref="ArgumentException">The extension is none of the valid ones (the message names them).</exception>
    public static string Write(RunReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var extension = Path.GetExtension(path);
        if (!FormatsByExtension.TryGetValue(extension, out var format))
            throw new ArgumentException(
                $"Cannot tell the report format from '{Path.GetFileName(path)}': use one of the extensions " +
                string.Join(", ", FormatsByExtension.Keys) + ".", nameof(path));

        var text = format switch
        {
            JsonFormat => ToJson(report),
            CsvFormat => ToCsv(report),
            _ => ToMarkdown(report),
        };
        ReportFiles.WriteAtomically(path, text);
        return format;
    }

    /// <summary>The judge validity section of the JSON report, as its own document (also written by <see cref="BenchmarkExport"/>).</summary>
    public static string JudgeValidityJson(JudgeValidityReport validity)
    {
        ArgumentNullException.ThrowIfNull(validity);
        return Serialize(AsJson(validity), ReportJsonContext.Default.JudgeValidityJson);
    }

    /// <summary>
    /// From a JSON report (<see cref="ToJson"/>), its <c>runId</c>, <c>offline</c>, <c>disclaimer</c> and
    /// <c>judgeValidity</c> (null until judgements exist) as one compact document, in that order: what the Api's
    /// <c>/validity</c> answers. The fields are the report's own, not recomputed.
    /// </summary>
    /// <exception cref="JsonException">The text is not a report of this shape.</exception>
    public static string JudgeValidityView(string reportJson)
    {
        ArgumentNullException.ThrowIfNull(reportJson);
        var view = JsonSerializer.Deserialize(reportJson, ReportJsonContext.Default.JudgeValidityViewJson)
                   ?? throw new JsonException("The report is null; an object is expected.");
        // Compact, with the serializer's default escaping: the answer is an HTTP body like the Api's other JSON.
        return JsonSerializer.Serialize(view, ReportJsonContext.Default.JudgeValidityViewJson);
    }

    internal static string FormatNumber(double? value) =>
        value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    // Round-trip form ("O"): full precision, with the offset, sortable.
    internal static string FormatTime(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    private static string Serialize<T>(T value, JsonTypeInfo<T> type)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, JsonOptions)) JsonSerializer.Serialize(writer, value, type);
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static RunReportJson AsJson(RunReport report) => new()
    {
        FormatVersion = FormatVersion,
        RunId = report.RunId,
        Name = report.Name,
        Status = report.Status,
        CreatedAt = report.CreatedAt,
        CompletedAt = report.CompletedAt,
        Offline = report.Offline,
        Disclaimer = report.Disclaimer,
        QuestionSet = report.QuestionSet,
        QuestionsPerTask = report.QuestionsPerTask,
        Judges = report.Judges,
        QuestionWriter = report.QuestionWriter,
        Environments = report.Environments,
        ExemplarWriter = report.ExemplarWriter,
        Models = report.Models.Select(AsJson).ToList(),
        Usage = new UsageJson
        {
            Totals = new UsageTotalsJson(report.Usage.Calls, report.Usage.CacheHits, report.Usage.InputTokens, report.Usage.OutputTokens, report.Usage.Failures),
            Lines = report.Usage.Lines.Select(l => new UsageLineJson
            {
                Stage = l.Stage, Model = l.Model, Calls = l.Calls, CacheHits = l.CacheHits,
                InputTokens = l.InputTokens, OutputTokens = l.OutputTokens, Failures = l.Failures,
            }).ToList(),
        },
        JudgeValidity = report.JudgeValidity is { } validity ? AsJson(validity) : null,
        Problems = report.Problems,
        Warnings = report.Warnings,
    };

    private static ModelJson AsJson(ModelReport model)
    {
        var overall = model.Overall;
        double? TaskScore(PersonaTask task) => overall.TaskScores.TryGetValue(task, out var s) ? s : null;
        // The published tables' figures (two decimals, keys as in the original scores.json), for convenience.
        var rounded = ByTask(t => TaskScore(t) is { } v ? PersonaScoring.Round2(v) : (double?)null);
        rounded.Add(BenchmarkFormat.PersonaScoreKey, overall.PersonaScore is { } p ? PersonaScoring.Round2(p) : null);
        return new ModelJson
        {
            Agent = model.Agent,
            Overall = new OverallJson
            {
                PersonaScore = overall.PersonaScore,
                Tasks = ByTask(TaskScore),
                Personas = overall.Personas,
                PersonasWithScore = overall.PersonasWithScore,
                CompletePersonas = overall.CompletePersonas,
                PersonasLeftOut = overall.PersonasLeftOut,
                IncludesIncompletePersonas = overall.IncludesIncomplete,
                PersonasWithTaskScore = ByTask(t => overall.PersonasWithTaskScore.TryGetValue(t, out var n) ? n : 0),
                ParseFailures = overall.ParseFailures,
                Rounded = rounded,
            },
            Personas = model.Personas.Select(persona => new PersonaJson
            {
                Persona = persona.Persona,
                Status = persona.Status,
                PersonaScore = persona.Scores.PersonaScore,
                Complete = persona.Scores.Complete,
                Failure = persona.Scores.Failure,
                Judgements = persona.Scores.Judgements,
                ParseFailures = persona.Scores.ParseFailures,
                MissingBatches = persona.Scores.MissingBatches,
                MissingJudgements = persona.Scores.MissingJudgements,
                Tasks = persona.Scores.Tasks.ToDictionary(t => t.Task.DisplayName(), t => new TaskScoreJson
                {
                    Score = t.Score,
                    Batches = t.Batches,
                    ScoredBatches = t.ScoredBatches,
                    ExpectedBatches = t.ExpectedBatches,
                    MissingBatches = t.MissingBatches,
                    MissingJudgements = t.MissingJudgements,
                    Complete = t.Complete,
                    Items = t.Items,
                    Judgements = t.Judgements,
                    ParseFailures = t.ParseFailures,
                }),
                Notes = persona.Scores.Notes,
            }).ToList(),
        };
    }

    // Keyed by the printed task names, in the paper's order (a dictionary keeps the order its keys were added in).
    private static Dictionary<string, T> ByTask<T>(Func<PersonaTask, T> value) =>
        PersonaTasks.All.ToDictionary(t => t.DisplayName(), value);

    private static JudgeValidityJson AsJson(JudgeValidityReport validity) => new()
    {
        Overall = AsJson(validity.Overall),
        Tasks = validity.Tasks.ToDictionary(s => s.Task is { } task ? task.DisplayName() : "Overall", AsJson),
    };

    private static ValiditySectionJson AsJson(TaskJudgeValidity section) => new()
    {
        Items = section.Items,
        Judges = section.Judges.Select(j => new JudgeSummaryJson
        {
            Judge = j.Judge,
            Judgements = j.Judgements,
            ParseFailures = j.ParseFailures,
            ParseFailureRate = j.ParseFailureRate,
            Distribution = j.Distribution.Counts.OrderBy(c => c.Key).ToDictionary(c => c.Key, c => c.Value),
        }).ToList(),
        Pairs = section.Pairs.Select(p => new JudgePairJson
        {
            JudgeA = p.JudgeA,
            JudgeB = p.JudgeB,
            Items = p.Items,
            Pearson = p.Pearson,
            Spearman = p.Spearman,
            KendallTauB = p.KendallTauB,
            MeanAbsoluteDifference = p.MeanAbsoluteDifference,
            ExactAgreementRate = p.ExactAgreementRate,
        }).ToList(),
    };

    private static void AppendModel(StringBuilder md, ModelReport model)
    {
        md.Append("## Model ").Append(Code(model.Agent)).Append("\n\n");
        md.Append("| Persona | Status | ");
        foreach (var task in PersonaTasks.All) md.Append(task.DisplayName()).Append(" | ");
        md.Append("PersonaScore | Parse failures | Missing |\n|---|---|");
        foreach (var _ in PersonaTasks.All) md.Append("---:|");
        md.Append("---:|---:|---|\n");
        foreach (var persona in model.Personas)
        {
            var scores = persona.Scores;
            md.Append("| ").Append(Cell(persona.Persona)).Append(" | ").Append(Cell(persona.Status)).Append(" | ");
            foreach (var task in PersonaTasks.All) md.Append(Score(scores[task].Score)).Append(scores[task].Complete ? "" : " ⚠").Append(" | ");
            md.Append(Score(scores.PersonaScore)).Append(scores.Complete ? "" : " ⚠").Append(" | ")
              .Append(scores.ParseFailures.ToString(CultureInfo.InvariantCulture)).Append(" | ")
              .Append(MissingCell(scores)).Append(" |\n");
        }

        var overall = model.Overall;
        var inMeans = overall.IncludesIncomplete ? overall.PersonasWithScore : overall.CompletePersonas;
        md.Append("| **Overall** (").Append(inMeans.ToString(CultureInfo.InvariantCulture)).Append(" of ")
          .Append(overall.Personas.ToString(CultureInfo.InvariantCulture)).Append(overall.Personas == 1 ? " persona" : " personas").Append(" in the means) | | ");
        foreach (var task in PersonaTasks.All)
            md.Append("**").Append(Score(overall.TaskScores.TryGetValue(task, out var s) ? s : null)).Append("** | ");
        md.Append("**").Append(Score(overall.PersonaScore)).Append("** | ")
          .Append(overall.ParseFailures.ToString(CultureInfo.InvariantCulture)).Append(" | |\n\n");
        md.Append(MeansSentence(overall)).Append("\n\n");

        // Exclusions from the means are part of the result (the paper's parse-failure rule): list them.
        var notes = model.Personas.SelectMany(p => p.Scores.Notes.Select(n => (p.Persona, Note: n))).ToList();
        if (notes.Count > 0)
        {
            md.Append("Left out of the means:\n\n");
            foreach (var (persona, note) in notes) md.Append("- ").Append(PromptTemplate.OneLine(Shorten(persona))).Append(": ").Append(PromptTemplate.OneLine(note)).Append('\n');
            md.Append('\n');
        }
    }

    /// <summary>What a persona's scores lack, for a table cell: "—" when nothing.</summary>
    public static string MissingCell(PersonaScoreReport scores)
    {
        if (scores.Failure is not null) return "persona failed";
        var parts = new List<string>();
        if (scores.MissingBatches > 0) parts.Add(Plural(scores.MissingBatches, "batch", "batches"));
        if (scores.MissingJudgements > 0) parts.Add(Plural(scores.MissingJudgements, "judge verdict set", "judge verdict sets"));
        if (parts.Count == 0 && scores.PersonaScore is null) parts.Add("no score");
        return parts.Count == 0 ? "—" : string.Join(", ", parts);
    }

    /// <summary>Which personas the model's means cover, in one sentence.</summary>
    public static string MeansSentence(AggregateScoreReport overall)
    {
        var personas = Plural(overall.Personas, "persona", "personas");
        if (overall.IncludesIncomplete)
            return $"Means over every persona with a score ({overall.PersonasWithScore} of {personas}), incomplete ones included ({overall.Personas - overall.CompletePersonas} incomplete).";
        return overall.PersonasLeftOut == 0
            ? $"Means over all {personas}, each complete (every judge on every batch)."
            : $"Means over the {overall.CompletePersonas} complete of {personas}; {overall.PersonasLeftOut} incomplete (⚠: a batch or a judge missing) left out.";
    }

    private static string Plural(int count, string one, string many) =>
        count.ToString(CultureInfo.InvariantCulture) + " " + (count == 1 ? one : many);

    private static void AppendUsage(StringBuilder md, UsageReport usage)
    {
        md.Append("## Usage\n\n");
        md.Append("| Stage | Model | Calls | Cache hits | Input tokens | Output tokens | Failures |\n|---|---|---:|---:|---:|---:|---:|\n");
        foreach (var line in usage.Lines)
        {
            md.Append("| ").Append(Cell(line.Stage)).Append(" | ").Append(Code(line.Model)).Append(" | ")
              .Append(Count(line.Calls)).Append(" | ").Append(Count(line.CacheHits)).Append(" | ")
              .Append(Count(line.InputTokens)).Append(" | ").Append(Count(line.OutputTokens)).Append(" | ")
              .Append(Count(line.Failures)).Append(" |\n");
        }
        md.Append("| **Total** | | ").Append(Count(usage.Calls)).Append(" | ").Append(Count(usage.CacheHits)).Append(" | ")
          .Append(Count(usage.InputTokens)).Append(" | ").Append(Count(usage.OutputTokens)).Append(" | ")
          .Append(Count(usage.Failures)).Append(" |\n\n");
    }

    private static void AppendJudgeValidity(StringBuilder md, JudgeValidityReport? validity)
    {
        md.Append("## Judge validity\n\n");
        if (validity is null)
        {
            md.Append("Not computed for this run.\n\n");
            return;
        }

        md.Append("| Judge | Judgements | Parse failures | Failure rate |\n|---|---:|---:|---:|\n");
        foreach (var judge in validity.Overall.Judges)
        {
            md.Append("| ").Append(Code(judge.Judge)).Append(" | ").Append(Count(judge.Judgements)).Append(" | ")
              .Append(Count(judge.ParseFailures)).Append(" | ").Append(Percent(judge.ParseFailureRate)).Append(" |\n");
        }
        md.Append('\n');

        var sections = validity.Tasks.Append(validity.Overall).Where(s => s.Pairs.Count > 0).ToList();
        if (sections.Count == 0)
        {
            md.Append("Agreement between judges needs at least two judges.\n\n");
            return;
        }
        md.Append("| Task | Judges | Items | Spearman | Kendall τ-b | Pearson | Mean abs. difference | Exact agreement |\n")
          .Append("|---|---|---:|---:|---:|---:|---:|---:|\n");
        foreach (var section in sections)
        {
            foreach (var pair in section.Pairs)
            {
                md.Append("| ").Append(section.Task is { } task ? task.DisplayName() : "**All tasks**").Append(" | ")
                  .Append(Code(pair.JudgeA)).Append(" vs ").Append(Code(pair.JudgeB)).Append(" | ")
                  .Append(Count(pair.Items)).Append(" | ").Append(Score(pair.Spearman)).Append(" | ")
                  .Append(Score(pair.KendallTauB)).Append(" | ").Append(Score(pair.Pearson)).Append(" | ")
                  .Append(Score(pair.MeanAbsoluteDifference)).Append(" | ").Append(Percent(pair.ExactAgreementRate)).Append(" |\n");
            }
        }
        md.Append('\n');
    }

    private static string Score(double? value) =>
        value is { } v ? PersonaScoring.Round2(v).ToString("0.00", CultureInfo.InvariantCulture) : "—";

    private static string Percent(double? rate) =>
        rate is { } r ? (r * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %" : "—";

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    // A table cell holds one line and no unescaped pipe.
    private static string Cell(string text) => PromptTemplate.OneLine(text).Replace("|", "\\|");

    private static string Code(string text) => string.IsNullOrWhiteSpace(text) ? "—" : "`" + Cell(text).Replace("`", "'") + "`";

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "…";

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
