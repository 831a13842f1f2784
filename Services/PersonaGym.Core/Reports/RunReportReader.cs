using System.Globalization;
using System.Text.Json;
using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Reports;

/// <summary>
/// Reads the JSON that <see cref="RunReportWriter.ToJson"/> writes (docs/output-format.md) back into a
/// <see cref="RunReport"/>, so there is one documented shape: the Api serves it, files hold it, and the CLI's
/// <c>--server</c> mode reads it. Derived fields (<c>offline</c>, <c>disclaimer</c>, <c>rounded</c>, usage totals)
/// are recomputed from the rest rather than read, so they cannot disagree with it.
/// </summary>
public static class RunReportReader
{
    /// <exception cref="FormatException">The text is not a run report of a known format version.</exception>
    public static RunReport FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            return ReadReport(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"Not a PersonaGym run report: {e.Message}", e);
        }
    }

    private static RunReport ReadReport(JsonElement root)
    {
        var version = root.GetProperty("formatVersion").GetInt32();
        if (version > RunReportWriter.FormatVersion)
            throw new FormatException($"The run report has format version {version}; this version reads up to {RunReportWriter.FormatVersion}.");

        return new RunReport
        {
            RunId = root.GetProperty("runId").GetGuid(),
            Name = StringOrNull(root, "name"),
            Status = root.GetProperty("status").GetString()!,
            CreatedAt = root.GetProperty("createdAt").GetDateTimeOffset(),
            CompletedAt = root.GetProperty("completedAt") is { ValueKind: JsonValueKind.String } done ? done.GetDateTimeOffset() : null,
            QuestionSet = root.GetProperty("questionSet").GetString()!,
            QuestionsPerTask = root.GetProperty("questionsPerTask").GetInt32(),
            Judges = Strings(root.GetProperty("judges")),
            QuestionWriter = root.GetProperty("questionWriter").GetString()!,
            ExemplarWriter = root.GetProperty("exemplarWriter").GetString()!,
            Models = root.GetProperty("models").EnumerateArray().Select(ReadModel).ToList(),
            Usage = new UsageReport(root.GetProperty("usage").GetProperty("lines").EnumerateArray().Select(l => new UsageLine(
                l.GetProperty("stage").GetString()!,
                l.GetProperty("model").GetString()!,
                l.GetProperty("calls").GetInt64(),
                l.GetProperty("cacheHits").GetInt64(),
                l.GetProperty("inputTokens").GetInt64(),
                l.GetProperty("outputTokens").GetInt64(),
                l.GetProperty("failures").GetInt64())).ToList()),
            JudgeValidity = root.GetProperty("judgeValidity") is { ValueKind: JsonValueKind.Object } validity ? ReadJudgeValidity(validity) : null,
            Problems = Strings(root.GetProperty("problems")),
            Warnings = root.TryGetProperty("warnings", out var warnings) ? Strings(warnings) : [],
        };
    }

    private static ModelReport ReadModel(JsonElement model)
    {
        var overall = model.GetProperty("overall");
        var tasks = overall.GetProperty("tasks");
        var withTask = overall.GetProperty("personasWithTaskScore");
        var aggregate = new AggregateScoreReport(
            NumberOrNull(overall, "personaScore"),
            PersonaTasks.All.ToDictionary(t => t, t => NumberOrNull(tasks, t.DisplayName())),
            overall.GetProperty("personas").GetInt32(),
            overall.GetProperty("personasWithScore").GetInt32(),
            overall.GetProperty("parseFailures").GetInt32())
        {
            PersonasWithTaskScore = PersonaTasks.All.ToDictionary(t => t, t => withTask.TryGetProperty(t.DisplayName(), out var n) ? n.GetInt32() : 0),
            CompletePersonas = IntOrZero(overall, "completePersonas"),
            PersonasLeftOut = IntOrZero(overall, "personasLeftOut"),
            IncludesIncomplete = overall.TryGetProperty("includesIncompletePersonas", out var all) && all.ValueKind == JsonValueKind.True,
        };

        var personas = model.GetProperty("personas").EnumerateArray().Select(p =>
        {
            var taskScores = p.GetProperty("tasks");
            var scores = new PersonaScoreReport(
                NumberOrNull(p, "personaScore"),
                PersonaTasks.All.Select(task =>
                {
                    var t = taskScores.GetProperty(task.DisplayName());
                    return new TaskScoreReport(
                        task,
                        NumberOrNull(t, "score"),
                        t.GetProperty("batches").GetInt32(),
                        t.GetProperty("items").GetInt32(),
                        t.GetProperty("judgements").GetInt32(),
                        t.GetProperty("parseFailures").GetInt32())
                    {
                        ScoredBatches = t.GetProperty("scoredBatches").GetInt32(),
                        ExpectedBatches = t.TryGetProperty("expectedBatches", out var expected) ? expected.GetInt32() : t.GetProperty("batches").GetInt32(),
                        MissingBatches = IntOrZero(t, "missingBatches"),
                        MissingJudgements = IntOrZero(t, "missingJudgements"),
                    };
                }).ToList(),
                p.GetProperty("judgements").GetInt32(),
                p.GetProperty("parseFailures").GetInt32(),
                Strings(p.GetProperty("notes")))
            {
                Failure = StringOrNull(p, "failure"),
            };
            return new PersonaResult(p.GetProperty("persona").GetString()!, p.GetProperty("status").GetString()!, scores);
        }).ToList();

        return new ModelReport(model.GetProperty("agent").GetString()!, aggregate, personas);
    }

    private static JudgeValidityReport ReadJudgeValidity(JsonElement validity)
    {
        var tasks = validity.GetProperty("tasks");
        var sections = tasks.EnumerateObject()
            .Select(section => ReadValiditySection(PersonaTasks.Parse(section.Name), section.Value))
            .ToList();
        return new JudgeValidityReport(sections, ReadValiditySection(null, validity.GetProperty("overall")));
    }

    private static TaskJudgeValidity ReadValiditySection(PersonaTask? task, JsonElement section) => new(
        task,
        section.GetProperty("items").GetInt32(),
        section.GetProperty("judges").EnumerateArray().Select(j =>
        {
            var parseFailures = j.GetProperty("parseFailures").GetInt32();
            var counts = new SortedDictionary<int, int>();
            foreach (var level in j.GetProperty("distribution").EnumerateObject())
                counts[int.Parse(level.Name, NumberStyles.Integer, CultureInfo.InvariantCulture)] = level.Value.GetInt32();
            return new JudgeSummary(
                j.GetProperty("judge").GetString()!,
                j.GetProperty("judgements").GetInt32(),
                parseFailures,
                NumberOrNull(j, "parseFailureRate"),
                new ScoreDistribution(counts, parseFailures));
        }).ToList(),
        section.GetProperty("pairs").EnumerateArray().Select(p => new JudgePairAgreement(
            p.GetProperty("judgeA").GetString()!,
            p.GetProperty("judgeB").GetString()!,
            p.GetProperty("items").GetInt32(),
            NumberOrNull(p, "pearson"),
            NumberOrNull(p, "spearman"),
            NumberOrNull(p, "kendallTauB"),
            NumberOrNull(p, "meanAbsoluteDifference"),
            NumberOrNull(p, "exactAgreementRate"))).ToList());

    private static double? NumberOrNull(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    // Fields added after format version 1 was published: absent from older files, where they were 0.
    private static int IntOrZero(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : 0;

    private static string? StringOrNull(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static List<string> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToList();
}
