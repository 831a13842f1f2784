using System.Text.Json;
using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Reports;

/// <summary>
/// Reads the JSON that <see cref="RunReportWriter.ToJson"/> writes (docs/output-format.md) back into a
/// <see cref="RunReport"/>, so there is one documented shape: the Api serves it, files hold it, and the CLI's
/// <c>--server</c> mode reads it. Derived fields (<c>offline</c>, <c>disclaimer</c>, <c>rounded</c>, usage totals,
/// <c>complete</c>, a persona's <c>missing…</c> sums) are recomputed from the rest rather than read, so they cannot
/// disagree with it.
/// </summary>
public static class RunReportReader
{
    /// <summary>Reads a JSON report file, such as <c>personagym run --output report.json</c> writes.</summary>
    /// <exception cref="FormatException">The file is not a run report of a known format version; the message names the file and what is wrong.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static RunReport ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return FromJson(File.ReadAllText(path), path);
    }

    /// <param name="json">The report's JSON text.</param>
    /// <param name="source">What the text is, for error messages: a file's name, "the server's results for run …".</param>
    /// <exception cref="FormatException">
    /// The text is not a run report of a known format version. The message names <paramref name="source"/>, where in
    /// the text the problem is (a JSON path such as <c>$.models[0].personas[1].status</c>, and the line) and what it is.
    /// </exception>
    public static RunReport FromJson(string json, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var what = source is null ? "Not a PersonaGym run report: " : $"{source} is not a PersonaGym run report: ";
        RunReportJson? report;
        try
        {
            report = JsonSerializer.Deserialize(json, ReportJsonContext.Default.RunReportJson);
        }
        catch (JsonException e)
        {
            // A later format may have changed a field's shape: then the version is the reason, not the field.
            if (NewerVersion(json) is { } version) throw NewerVersionError(source, version);
            throw new FormatException(what + ReportJsonProblems.Explain(json, e, ReportJsonContext.Default.RunReportJson), e);
        }

        if (report is null) throw new FormatException(what + "the top level is null; an object is expected.");
        if (report.FormatVersion > RunReportWriter.FormatVersion) throw NewerVersionError(source, report.FormatVersion);
        try
        {
            return ToReport(report);
        }
        catch (ReportProblem e)
        {
            throw new FormatException(what + e.Message);
        }
    }

    private static FormatException NewerVersionError(string? source, int version) => new(
        $"{source ?? "The run report"} has format version {version}; this version of PersonaGym reads up to {RunReportWriter.FormatVersion}.");

    private static int? NewerVersion(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, ReportJsonContext.Default.FormatVersionJson)?.FormatVersion is { } version
                   && version > RunReportWriter.FormatVersion
                ? version
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static RunReport ToReport(RunReportJson report) => new()
    {
        RunId = report.RunId,
        Name = report.Name,
        Status = report.Status,
        CreatedAt = report.CreatedAt,
        CompletedAt = report.CompletedAt,
        QuestionSet = report.QuestionSet,
        QuestionsPerTask = report.QuestionsPerTask,
        Judges = Strings(report.Judges, "$.judges"),
        QuestionWriter = report.QuestionWriter,
        Environments = report.Environments,
        ExemplarWriter = report.ExemplarWriter,
        Models = Items(report.Models, "$.models").Select(m => ToModel(m.Item, m.Path)).ToList(),
        Usage = new UsageReport(Items(report.Usage.Lines, "$.usage.lines")
            .Select(l => new UsageLine(l.Item.Stage, l.Item.Model, l.Item.Calls, l.Item.CacheHits, l.Item.InputTokens, l.Item.OutputTokens, l.Item.Failures))
            .ToList()),
        JudgeValidity = report.JudgeValidity is { } validity ? ToJudgeValidity(validity) : null,
        Problems = Strings(report.Problems, "$.problems"),
        Warnings = report.Warnings is { } warnings ? Strings(warnings, "$.warnings") : [],
    };

    private static ModelReport ToModel(ModelJson model, string path)
    {
        var overall = model.Overall;
        var aggregate = new AggregateScoreReport(
            overall.PersonaScore,
            PersonaTasks.All.ToDictionary(t => t, t => overall.Tasks.TryGetValue(t.DisplayName(), out var score) ? score : null),
            overall.Personas,
            overall.PersonasWithScore,
            overall.ParseFailures)
        {
            PersonasWithTaskScore = PersonaTasks.All.ToDictionary(t => t, t => overall.PersonasWithTaskScore.TryGetValue(t.DisplayName(), out var n) ? n : 0),
            CompletePersonas = overall.CompletePersonas,
            PersonasLeftOut = overall.PersonasLeftOut,
            IncludesIncomplete = overall.IncludesIncompletePersonas,
        };
        var personas = Items(model.Personas, path + ".personas").Select(p => ToPersona(p.Item, p.Path)).ToList();
        return new ModelReport(model.Agent, aggregate, personas);
    }

    private static PersonaResult ToPersona(PersonaJson persona, string path)
    {
        var tasks = PersonaTasks.All.Select(task =>
        {
            // Every persona entry has all five tasks (docs/output-format.md): a missing one is a damaged report.
            if (!persona.Tasks.TryGetValue(task.DisplayName(), out var t))
                throw new ReportProblem($"{path}.tasks lacks the task '{task.DisplayName()}' (every persona has all five).");
            if (t is null) throw new ReportProblem($"{path}.tasks['{task.DisplayName()}'] is null; an object is expected.");
            return new TaskScoreReport(task, t.Score, t.Batches, t.Items, t.Judgements, t.ParseFailures)
            {
                ScoredBatches = t.ScoredBatches,
                ExpectedBatches = t.ExpectedBatches ?? t.Batches,
                MissingBatches = t.MissingBatches,
                MissingJudgements = t.MissingJudgements,
            };
        }).ToList();
        var scores = new PersonaScoreReport(persona.PersonaScore, tasks, persona.Judgements, persona.ParseFailures, Strings(persona.Notes, path + ".notes"))
        {
            Failure = persona.Failure,
        };
        return new PersonaResult(persona.Persona, persona.Status, scores);
    }

    private static JudgeValidityReport ToJudgeValidity(JudgeValidityJson validity)
    {
        var sections = validity.Tasks.Select(section =>
        {
            var path = $"$.judgeValidity.tasks['{section.Key}']";
            if (!PersonaTasks.TryParse(section.Key, out var task))
                throw new ReportProblem($"{path} is not one of the five tasks ({string.Join(", ", PersonaTasks.All.Select(t => t.DisplayName()))}).");
            return ToValiditySection(task, section.Value ?? throw new ReportProblem($"{path} is null; an object is expected."), path);
        }).ToList();
        return new JudgeValidityReport(sections, ToValiditySection(null, validity.Overall, "$.judgeValidity.overall"));
    }

    private static TaskJudgeValidity ToValiditySection(PersonaTask? task, ValiditySectionJson section, string path) => new(
        task,
        section.Items,
        Items(section.Judges, path + ".judges").Select(j => new JudgeSummary(
            j.Item.Judge,
            j.Item.Judgements,
            j.Item.ParseFailures,
            j.Item.ParseFailureRate,
            new ScoreDistribution(new SortedDictionary<int, int>(j.Item.Distribution.ToDictionary()), j.Item.ParseFailures))).ToList(),
        Items(section.Pairs, path + ".pairs").Select(p => new JudgePairAgreement(
            p.Item.JudgeA,
            p.Item.JudgeB,
            p.Item.Items,
            p.Item.Pearson,
            p.Item.Spearman,
            p.Item.KendallTauB,
            p.Item.MeanAbsoluteDifference,
            p.Item.ExactAgreementRate)).ToList());

    // The serializer enforces nullability on properties, not on the elements of arrays: those are checked here.
    private static IEnumerable<(T Item, string Path)> Items<T>(IReadOnlyList<T> items, string path) where T : class =>
        items.Select((item, i) => (item ?? throw new ReportProblem($"{path}[{i}] is null."), $"{path}[{i}]"));

    private static List<string> Strings(IReadOnlyList<string> items, string path) => Items(items, path).Select(s => s.Item).ToList();

    /// <summary>Content that is valid JSON of the right types but not a report: the message says where and what.</summary>
    private sealed class ReportProblem(string message) : Exception(message);
}
