using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core.Reports;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Reports;

/// <summary>A run's report as the documented JSON, with the record it reads back to.</summary>
/// <param name="Recomputed">True when this read computed the report (nothing stored matched the evidence).</param>
public sealed record RunReportDocument(Guid RunId, string Json, bool Recomputed)
{
    public RunReport ToReport() => RunReportReader.FromJson(Json, $"the report stored for run {RunId}");
}

/// <summary>
/// The one read side of run reports, for the Api, the CLI and (through the Api) the web app. A report is derived from
/// the stored evidence (<see cref="RunReportBuilder"/>); computing it reads every verdict of the run, so the result is
/// kept in <see cref="StoredRunReport"/> with the fingerprint of what it was computed from. A read fingerprints the
/// run's current evidence and serves the stored report only when the fingerprints are equal; otherwise it computes the
/// report again and stores it. A stale report is never served as current: every row a report reads is either covered by
/// the fingerprint directly (the run, its models, personas and batches, small) or insert-only and covered by its count
/// (judgements, LLM calls), and the fingerprint and the report are read in one snapshot.
/// </summary>
public static class RunReportReadModel
{
    /// <summary>
    /// The code that turns evidence into a report: a build that changes it computes stored reports again. Module
    /// version ids are the same for the same source (deterministic builds), so replicas of one build agree.
    /// </summary>
    private static readonly string CodeVersion = string.Join(",",
        new[] { typeof(RunReportBuilder), typeof(RunReport), typeof(ScoreQueries) }
            .Select(t => t.Assembly.ManifestModule.ModuleVersionId.ToString("N")));

    /// <summary>The run's report, stored or computed now; null when there is no such run.</summary>
    /// <param name="includeIncomplete">Model-level means over every persona with a score, not only the complete ones.</param>
    public static async Task<RunReportDocument?> ReadAsync(PersonaGymDbContext db, Guid runId, bool includeIncomplete = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        var strategy = db.Database.CreateExecutionStrategy();
        var read = await strategy.ExecuteAsync(async ct =>
        {
            // One snapshot for the fingerprint, the stored report and (if needed) the new one: a report computed from
            // newer rows than its fingerprint describes could otherwise be served later as matching older evidence.
            await using var transaction = await db.Database.BeginTransactionAsync(
                db.Database.IsSqlite() ? IsolationLevel.Serializable : IsolationLevel.RepeatableRead, ct);
            var fingerprint = await FingerprintAsync(db, runId, ct);
            if (fingerprint is null) return null;
            var stored = await db.RunReports.AsNoTracking()
                .Where(r => r.RunId == runId && r.IncludeIncomplete == includeIncomplete && r.Fingerprint == fingerprint)
                .Select(r => r.Json).FirstOrDefaultAsync(ct);
            var computed = stored is null && await RunReportBuilder.BuildAsync(db, runId, ct, includeIncomplete) is { } report
                ? RunReportWriter.ToJson(report)
                : null;
            await transaction.CommitAsync(ct);
            return new { Fingerprint = fingerprint, Stored = stored, Computed = computed };
        }, cancellationToken);

        if (read is null) return null;
        if (read.Stored is { } json) return new RunReportDocument(runId, json, Recomputed: false);
        if (read.Computed is null) return null;
        await StoreAsync(db, runId, includeIncomplete, read.Fingerprint, read.Computed, cancellationToken);
        return new RunReportDocument(runId, read.Computed, Recomputed: true);
    }

    /// <summary>Keeps a report this read computed, in place of what was stored before.</summary>
    private static async Task StoreAsync(PersonaGymDbContext db, Guid runId, bool includeIncomplete, string fingerprint, string json,
        CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        try
        {
            var replaced = await db.RunReports.Where(r => r.RunId == runId && r.IncludeIncomplete == includeIncomplete)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Fingerprint, fingerprint).SetProperty(r => r.Json, json).SetProperty(r => r.ComputedAt, now),
                    cancellationToken);
            if (replaced > 0) return;
            var row = new StoredRunReport { RunId = runId, IncludeIncomplete = includeIncomplete, Fingerprint = fingerprint, Json = json, ComputedAt = now };
            db.RunReports.Add(row);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            finally
            {
                db.Entry(row).State = EntityState.Detached;
            }
        }
        catch (Exception e) when (e is DbUpdateException or DbException)
        {
            // Another read stored its report first, the run was deleted, or the database takes no writes (a read-only file). Storing is only a saving: this report is
            // right for the evidence it was computed from, and the next read checks whatever is stored.
        }
    }

    /// <summary>
    /// The fingerprint of everything <see cref="RunReportBuilder"/> reads of a run; null when there is no such run.
    /// Judgements and LLM calls are only ever inserted (never updated, never deleted but with their run), so their
    /// counts tell their sets apart; every other row the report reads is hashed whole. The question set's questions and
    /// personas' texts are never changed once a run uses them.
    /// </summary>
    internal static async Task<string?> FingerprintAsync(PersonaGymDbContext db, Guid runId, CancellationToken cancellationToken)
    {
        var run = await db.Runs.AsNoTracking().Where(r => r.Id == runId)
            .Select(r => new
            {
                r.Name, r.CreatedAt, r.UpdatedAt, r.CompletedAt, r.Status, r.Error, r.Stall, r.StalledSince,
                r.QuestionsPerTask, r.QuestionWriterSpec, r.ExemplarWriterSpec, r.QuestionSetId,
                SetName = r.QuestionSet.Name, SetVersion = r.QuestionSet.Version, r.QuestionSet.Frozen, r.QuestionSet.Source,
            })
            .FirstOrDefaultAsync(cancellationToken);
        if (run is null) return null;

        var models = await db.RunModels.AsNoTracking().Where(m => m.RunId == runId)
            .Select(m => new { m.Id, m.Role, m.Spec, m.Ordinal }).ToListAsync(cancellationToken);
        var personas = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == runId)
            .Select(p => new { p.Id, p.PersonaId, p.Status, p.Error }).ToListAsync(cancellationToken);
        var batches = await db.BatchWork.AsNoTracking().Where(w => w.RunId == runId)
            .Select(w => new { w.Id, w.Stage, w.Error }).ToListAsync(cancellationToken);
        // Sums as well as counts, though the pipeline never edits a stored verdict: a score changed by hand is seen too.
        var judgements = await db.Judgements.AsNoTracking().Where(j => j.RunId == runId).GroupBy(j => 1)
            .Select(g => new { Count = g.LongCount(), Unparsed = g.LongCount(j => j.Score == null), Sum = g.Sum(j => (long)(j.Score ?? 0)) })
            .FirstOrDefaultAsync(cancellationToken);
        var calls = await db.LlmCalls.AsNoTracking().Where(c => c.RunId == runId).GroupBy(c => 1)
            .Select(g => new
            {
                Count = g.LongCount(), CacheHits = g.LongCount(c => c.CacheHit), Failures = g.LongCount(c => !c.Succeeded),
                Tokens = g.Sum(c => (long)(c.InputTokens ?? 0) + (long)(c.OutputTokens ?? 0)),
            })
            .FirstOrDefaultAsync(cancellationToken);

        var hash = new Fingerprint();
        hash.Add(CodeVersion).Add(run.Name).Add(run.CreatedAt).Add(run.UpdatedAt).Add(run.CompletedAt).Add(run.Status.ToString())
            .Add(run.Error).Add(run.Stall).Add(run.StalledSince).Add(run.QuestionsPerTask).Add(run.QuestionWriterSpec)
            .Add(run.ExemplarWriterSpec).Add(run.QuestionSetId.ToString()).Add(run.SetName).Add(run.SetVersion)
            .Add(run.Frozen.ToString()).Add(run.Source.ToString())
            .Add(judgements?.Count ?? 0).Add(judgements?.Unparsed ?? 0).Add(judgements?.Sum ?? 0)
            .Add(calls?.Count ?? 0).Add(calls?.CacheHits ?? 0).Add(calls?.Failures ?? 0).Add(calls?.Tokens ?? 0);
        foreach (var m in models.OrderBy(m => m.Id)) hash.Add(m.Id.ToString()).Add(m.Role.ToString()).Add(m.Spec).Add(m.Ordinal);
        foreach (var p in personas.OrderBy(p => p.Id)) hash.Add(p.Id.ToString()).Add(p.PersonaId.ToString()).Add(p.Status.ToString()).Add(p.Error);
        foreach (var w in batches.OrderBy(w => w.Id)) hash.Add(w.Id.ToString()).Add(w.Stage.ToString()).Add(w.Error);
        return hash.ToHex();
    }

    /// <summary>SHA-256 over a sequence of fields, each length-prefixed so that no two sequences hash the same input.</summary>
    private sealed class Fingerprint
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public Fingerprint Add(string? value)
        {
            if (value is null)
            {
                _hash.AppendData("-;"u8);
                return this;
            }

            var bytes = Encoding.UTF8.GetBytes(value);
            _hash.AppendData(Encoding.ASCII.GetBytes(bytes.Length.ToString(CultureInfo.InvariantCulture) + ":"));
            _hash.AppendData(bytes);
            return this;
        }

        public Fingerprint Add(long value) => Add(value.ToString(CultureInfo.InvariantCulture));

        public Fingerprint Add(DateTimeOffset? value) => Add(value?.UtcTicks.ToString(CultureInfo.InvariantCulture));

        public string ToHex()
        {
            var hex = Convert.ToHexStringLower(_hash.GetHashAndReset());
            _hash.Dispose();
            return hex;
        }
    }
}
