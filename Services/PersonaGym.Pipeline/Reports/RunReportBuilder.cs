using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Reports;
using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Reports;

/// <summary>
/// Builds a run's <see cref="RunReport"/> from the stored judgements (scores are always derived, never stored), for the
/// CLI's tables and files and the Api's results endpoint alike.
/// </summary>
public static class RunReportBuilder
{
    /// <param name="includeIncomplete">Model-level means over every persona with a score, not only the complete ones.</param>
    public static async Task<RunReport?> BuildAsync(PersonaGymDbContext db, Guid runId, CancellationToken cancellationToken = default,
        bool includeIncomplete = false)
    {
        var run = await db.Runs.AsNoTracking().Include(r => r.QuestionSet).FirstOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null) return null;

        var models = await db.RunModels.AsNoTracking().Where(m => m.RunId == runId).OrderBy(m => m.Ordinal).ToListAsync(cancellationToken);
        var personas = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == runId)
            .OrderBy(p => p.Persona.Text).Select(p => new { p.PersonaId, p.Persona.Text, p.Status, p.Error }).ToListAsync(cancellationToken);
        var scores = await db.JudgementScoresAsync(runId, null, null, cancellationToken);
        var plan = await db.ScoringPlanAsync(run.Id, cancellationToken);
        var judges = plan.Judges;

        var modelReports = new List<ModelReport>();
        foreach (var agent in models.Where(m => m.Role == RunModelRole.Agent))
        {
            var results = personas.Select(p => new PersonaResult(
                    p.Text,
                    p.Status.ToString(),
                    PersonaScoring.Compute(
                        scores.Where(s => s.AgentId == agent.Id && s.PersonaId == p.PersonaId).Select(s => s.ToJudgementScore()),
                        plan.For(agent.Id, p.PersonaId))))
                .ToList();
            modelReports.Add(new ModelReport(agent.Spec, PersonaScoring.Aggregate(results.Select(r => r.Scores), includeIncomplete), results));
        }

        var usage = await db.UsageByStageAndModelAsync(runId, cancellationToken);

        var items = await db.JudgeItemsAsync(runId, null, cancellationToken);
        var validity = items.Count == 0 ? null : JudgeValidity.Compute(items.Select(i => new ItemJudgement(i.Task, i.ItemKey, i.Judge, i.Score)));

        return new RunReport
        {
            RunId = run.Id,
            Name = run.Name,
            Status = run.Status.ToString(),
            CreatedAt = run.CreatedAt,
            CompletedAt = run.CompletedAt,
            QuestionSet = run.QuestionSet.Source == QuestionSetSource.Imported || run.QuestionSet.Frozen
                ? $"{run.QuestionSet.Name}@{run.QuestionSet.Version}"
                : $"generated for this run ({run.QuestionSet.Name})",
            QuestionsPerTask = run.QuestionsPerTask,
            Judges = judges,
            QuestionWriter = run.QuestionWriterSpec ?? "(stored question set)",
            Environments = await EnvironmentsAsync(db, run, cancellationToken),
            ExemplarWriter = run.ExemplarWriterSpec,
            Models = modelReports,
            Usage = new UsageReport(usage
                .OrderBy(u => u.Stage).ThenBy(u => u.Model)
                .Select(u => new UsageLine(LlmCallStages.Name(u.Stage), u.Model, u.Calls, u.CacheHits, u.InputTokens, u.OutputTokens, u.Failures)).ToList()),
            JudgeValidity = validity,
            Problems = await ProblemsAsync(db, run, cancellationToken),
            Warnings = Warnings(judges, modelReports, includeIncomplete),
        };
    }

    /// <summary>Where the run's questions took their environments from, so a result says which pool it measured on.</summary>
    private static async Task<string?> EnvironmentsAsync(PersonaGymDbContext db, Run run, CancellationToken cancellationToken)
    {
        if (run.QuestionWriterSpec is null) return null;
        if (run.EnvironmentsMode != Run.AutomaticEnvironments) return $"fixed: {run.EnvironmentsMode}";
        if (run.EnvironmentPoolSetId is not { } poolId) return "selected by the question writer from environments.txt (PersonaGym's own pool, not the paper's 150)";
        var set = await db.QuestionSets.AsNoTracking().Where(s => s.Id == poolId).Select(s => new { s.Name, s.Version }).FirstOrDefaultAsync(cancellationToken);
        var size = (await QuestionSets.QuestionSetCatalog.EnvironmentPoolAsync(db, poolId, cancellationToken)).Count;
        return $"selected by the question writer from the pool of {(set is null ? "a question set no longer stored" : $"{set.Name}@{set.Version}")} ({size} settings)";
    }

    /// <summary>What weakens the result without failing it.</summary>
    public static IReadOnlyList<string> Warnings(IReadOnlyList<string> judges, IReadOnlyList<ModelReport> models, bool includeIncomplete)
    {
        var warnings = new List<string>();
        if (judges.Count == 1)
            warnings.Add(Runs.RunPlan.SingleJudgeWarning(judges[0]) + ".");
        foreach (var model in models.Where(m => m.Overall.PersonasLeftOut > 0))
            warnings.Add($"{model.Agent}: {model.Overall.PersonasLeftOut} of {model.Overall.Personas} personas are incomplete and left out of the means (see their notes).");
        if (includeIncomplete && models.Any(m => m.Overall.CompletePersonas < m.Overall.Personas))
            warnings.Add("The means include incomplete personas (asked for): some scores rest on fewer judges or batches than planned.");
        return warnings;
    }

    /// <summary>
    /// Failed personas and batches with their reasons, why a run stopped, and why a running run cannot progress right
    /// now: the run never fails or hangs silently.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ProblemsAsync(PersonaGymDbContext db, Run run, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (run.Error is not null) problems.Add($"Run {run.Status.ToString().ToLowerInvariant()}: {run.Error}");
        if (run.Stall is not null && run.Status is RunStatus.Pending or RunStatus.Running)
            problems.Add($"Run cannot progress since {run.StalledSince ?? run.CreatedAt:u}: {run.Stall}");

        var personas = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == run.Id && p.Status == RunPersonaStatus.Failed)
            .Select(p => new { p.Persona.Text, p.Error }).ToListAsync(cancellationToken);
        problems.AddRange(personas.Select(p => $"Persona \"{Shorten(p.Text)}\": questions failed: {p.Error}"));

        var batches = await db.BatchWork.AsNoTracking().Where(w => w.RunId == run.Id && w.Stage == BatchStage.Failed)
            .Select(w => new { Persona = w.RunPersona.Persona.Text, w.Batch.Task, w.Batch.BatchIndex, Agent = w.Agent.Spec, w.Error })
            .ToListAsync(cancellationToken);
        problems.AddRange(batches.Select(b => $"Persona \"{Shorten(b.Persona)}\", {b.Task.DisplayName()} batch {b.BatchIndex + 1}, {b.Agent}: {b.Error}"));

        var failures = await db.Judgements.AsNoTracking().Where(j => j.RunId == run.Id && j.Score == null).CountAsync(cancellationToken);
        if (failures > 0) problems.Add($"{failures} judgement(s) had no parseable score: excluded from the means and counted as parse failures.");
        return problems;
    }

    private static string Shorten(string text) => text.Length > 60 ? text[..60] + "…" : text;
}
