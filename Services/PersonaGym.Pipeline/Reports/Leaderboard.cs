using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Benchmark;
using PersonaGym.Core.Reports;
using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Reports;

/// <summary>One model under test of one run, with its scores derived from the stored judgements.</summary>
/// <param name="QuestionSetId">Models are comparable only on the same question set: group or filter by it.</param>
/// <param name="Tasks">Per task (keyed by the paper's task names), the mean over personas that have a score for it.</param>
/// <param name="Personas">The run's personas, whether or not any of them was judged.</param>
/// <param name="PersonasWithScore">The personas <paramref name="PersonaScore"/> and its interval cover: the complete ones.</param>
public sealed record LeaderboardEntry(
    Guid RunId,
    string RunName,
    DateTimeOffset RunCreatedAt,
    RunStatus RunStatus,
    Guid QuestionSetId,
    string Agent,
    int Personas,
    int PersonasWithScore,
    double? PersonaScore,
    IReadOnlyDictionary<string, double?> Tasks,
    bool UsesOfflineModels)
{
    public string? Disclaimer => UsesOfflineModels ? ReportText.OfflineDisclaimer : null;

    /// <summary>
    /// The 95 % confidence interval of <see cref="PersonaScore"/> over personas (Student's t, <see cref="ConfidenceInterval.Of95"/>);
    /// null with fewer than two personas scored. It says how far the ranking rests on the personas drawn.
    /// </summary>
    public ConfidenceInterval? PersonaScoreInterval { get; init; }
}

/// <summary>A published figure set for a model on a benchmark question set (e.g. the paper's), shown as a reference row.</summary>
/// <param name="Tasks">Per task (the paper's task names), the published score.</param>
public sealed record ReferenceEntry(Guid QuestionSetId, string Model, double? PersonaScore, IReadOnlyDictionary<string, double?> Tasks)
{
    /// <summary>
    /// Set when the published PersonaScore is not the mean of the published task scores (beyond their two-decimal
    /// rounding): the paper's Claude 3 Haiku row gives 3.64 where its tasks average 3.84. A run that matches the tasks
    /// would look 0.2 better than "the paper" on that row without it.
    /// </summary>
    public string? Inconsistency =>
        PersonaScore is { } published && Tasks.Count == PersonaTasks.All.Count && Tasks.Values.All(v => v is not null)
        && Tasks.Values.Average(v => v!.Value) is var mean && Math.Abs(mean - published) > 0.01
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"the published PersonaScore {published:0.00} is not the mean of its published task scores ({PersonaScoring.Round2(mean):0.00})")
            : null;
}

public static class Leaderboard
{
    /// <summary>Every stored published score, one entry per question set and model, best PersonaScore first.</summary>
    public static async Task<IReadOnlyList<ReferenceEntry>> ReferencesAsync(PersonaGymDbContext db, CancellationToken cancellationToken = default)
    {
        var rows = await db.ReferenceScores.AsNoTracking().Select(r => new { r.QuestionSetId, r.Model, r.Metric, r.Value }).ToListAsync(cancellationToken);
        return rows.GroupBy(r => (r.QuestionSetId, r.Model))
            .Select(g => new ReferenceEntry(g.Key.QuestionSetId, g.Key.Model,
                g.FirstOrDefault(r => r.Metric == BenchmarkFormat.PersonaScoreKey)?.Value,
                PersonaTasks.All.ToDictionary(t => t.DisplayName(), t => g.FirstOrDefault(r => r.Metric == t.DisplayName())?.Value)))
            .OrderByDescending(e => e.PersonaScore).ThenBy(e => e.Model, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Every model under test of every run, best PersonaScore first (models without one last). Offline runs are listed
    /// and flagged, never hidden: their numbers are not an evaluation.
    /// </summary>
    public static async Task<IReadOnlyList<LeaderboardEntry>> BuildAsync(PersonaGymDbContext db, CancellationToken cancellationToken = default)
    {
        var rows = await db.LeaderboardAsync(cancellationToken);
        var entries = new List<LeaderboardEntry>(rows.Count);
        foreach (var run in rows.GroupBy(r => r.RunId))
        {
            var scores = await db.PersonaScoresAsync(run.Key, cancellationToken: cancellationToken);
            foreach (var row in run)
            {
                entries.Add(Entry(row, scores.Where(s => s.AgentId == row.AgentId).Select(s => s.Report).ToList()));
            }
        }

        return Ranked(entries);
    }

    /// <summary>
    /// One model of one run. The paper's tables: per task and overall, the mean over personas
    /// (<see cref="PersonaScoring.Aggregate"/>, complete personas only). The count shown beside the mean, and its
    /// interval, are of the same personas, not of every persona that happens to have a score.
    /// </summary>
    public static LeaderboardEntry Entry(LeaderboardRow row, IReadOnlyList<PersonaScoreReport> reports)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(reports);
        var overall = PersonaScoring.Aggregate(reports);
        var counted = reports.Where(r => r.Complete).ToList();
        return new LeaderboardEntry(
            row.RunId, row.RunName, row.RunCreatedAt, row.RunStatus, row.QuestionSetId, row.AgentSpec,
            row.Personas, counted.Count, overall.PersonaScore,
            PersonaTasks.All.ToDictionary(t => t.DisplayName(), t => overall.TaskScores.TryGetValue(t, out var s) ? s : null),
            row.UsesOfflineModels)
        {
            PersonaScoreInterval = ConfidenceInterval.Of95(counted.Select(r => r.PersonaScore).OfType<double>().ToList()),
        };
    }

    private static List<LeaderboardEntry> Ranked(List<LeaderboardEntry> entries) =>
        entries
            .OrderBy(e => e.PersonaScore is null)
            .ThenByDescending(e => e.PersonaScore)
            .ThenByDescending(e => e.RunCreatedAt)
            .ToList();
}
