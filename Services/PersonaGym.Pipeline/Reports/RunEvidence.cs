using PersonaGym.Core.Reports;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Parsing;
using PersonaGym.Core.Scoring;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Reports;

// The evidence behind a run's scores, read page by page: personas, questions, answers and the judges' verdicts.
// One read side for the Api, the web app (through the Api) and the CLI; scores are derived from the stored judgements.

/// <summary>One page of a longer list.</summary>
/// <param name="Total">Items in the whole list (with the same filters).</param>
public sealed record Page<T>(int Total, int Offset, int Limit, IReadOnlyList<T> Items);

/// <summary>Where a page starts and how long it is; checked by <see cref="Problem"/> before any query.</summary>
public readonly record struct PageRequest(int Offset, int Limit)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>What is wrong with the bounds, or null when they are usable.</summary>
    public string? Problem() =>
        Offset < 0 ? $"offset must be 0 or more, got {Offset}"
        : Limit is < 1 or > MaxLimit ? $"limit must be from 1 to {MaxLimit}, got {Limit}"
        : null;
}

/// <summary>One persona of a run with its PersonaScore per model under test.</summary>
/// <param name="Scores">One entry per model under test, in the run's order.</param>
public sealed record RunPersonaItem(Guid PersonaId, string Persona, RunPersonaStatus Status, string? Error, IReadOnlyList<PersonaModelScore> Scores);

/// <param name="Tasks">The five task scores, in the paper's order.</param>
public sealed record PersonaModelScore(string Agent, double? PersonaScore, IReadOnlyList<TaskScoreReport> Tasks, int ParseFailures, IReadOnlyList<string> Notes)
{
    /// <summary>Every judge on every planned batch of every task (see <see cref="PersonaScoreReport.Complete"/>).</summary>
    public bool Complete { get; init; } = true;

    /// <summary>What the scores lack, in a few words ("1 judge verdict set", "persona failed"), or "—".</summary>
    public string Missing { get; init; } = "—";
}

/// <summary>A question of the run's question set.</summary>
public sealed record QuestionItem(Guid QuestionId, Guid PersonaId, PersonaTask Task, int Ordinal, int BatchIndex, string Text);

/// <summary>One model's answer to one question.</summary>
public sealed record AnswerItem(Guid AnswerId, Guid QuestionId, Guid PersonaId, PersonaTask Task, int Ordinal, string Agent, string Text, DateTimeOffset CreatedAt);

/// <summary>One judge's verdict on one answer: its score, or the reason none could be read.</summary>
public sealed record VerdictItem(
    Guid JudgementId, Guid AnswerId, Guid QuestionId, Guid PersonaId, PersonaTask Task, string Agent, string Judge,
    int? Score, string? ParseFailure, string? Reasoning, string RawText);

/// <summary>Everything a reader needs to see why a persona scored what it did: per task every question with the
/// environments, each model's answer, the score exemplars and every judge's verdict.</summary>
public sealed record PersonaEvidence(
    Guid RunId,
    Guid PersonaId,
    string Persona,
    RunPersonaStatus Status,
    string? Error,
    IReadOnlyList<string> Environments,
    IReadOnlyList<string> Agents,
    IReadOnlyList<string> Judges,
    IReadOnlyList<PersonaModelScore> Scores,
    IReadOnlyList<TaskEvidence> Tasks);

public sealed record TaskEvidence(PersonaTask Task, string Name, IReadOnlyList<QuestionEvidence> Questions);

/// <param name="Exemplars">The example answers for scores 1–5 the judges compared against (empty until written).</param>
/// <param name="Answers">One per model under test that has answered, in the run's order.</param>
public sealed record QuestionEvidence(Guid QuestionId, int Ordinal, int BatchIndex, string Text, IReadOnlyList<ExemplarItem> Exemplars, IReadOnlyList<AnswerEvidence> Answers)
{
    /// <summary>The persona's environments this question is set in, as its text names them (<see cref="QuestionEnvironments"/>); empty when it names none.</summary>
    public IReadOnlyList<string> Environments { get; init; } = [];
}

public sealed record ExemplarItem(int Score, string Text);

/// <param name="Verdicts">One per judge that has graded the answer, in the run's order.</param>
public sealed record AnswerEvidence(Guid AnswerId, string Agent, string Text, double? JudgeMean, IReadOnlyList<VerdictItem> Verdicts);

/// <summary>Filters for answer and verdict lists; null means "any".</summary>
public sealed record EvidenceFilter(PersonaTask? Task = null, Guid? PersonaId = null, string? Agent = null, string? Judge = null, bool ParseFailuresOnly = false);

public static class RunEvidence
{
    /// <summary>The run's personas, ordered by their text, with their scores; null when there is no such run.</summary>
    public static async Task<Page<RunPersonaItem>?> PersonasAsync(PersonaGymDbContext db, Guid runId, PageRequest page, CancellationToken cancellationToken = default)
    {
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken)) return null;
        var query = db.RunPersonas.AsNoTracking().Where(p => p.RunId == runId);
        var total = await query.CountAsync(cancellationToken);
        var personas = await query.OrderBy(p => p.Persona.Text).ThenBy(p => p.Id)
            .Skip(page.Offset).Take(page.Limit)
            .Select(p => new { p.PersonaId, p.Persona.Text, p.Status, p.Error })
            .ToListAsync(cancellationToken);

        var agents = await AgentsAsync(db, runId, cancellationToken);
        var ids = personas.Select(p => p.PersonaId).ToList();
        // Only the page's personas' verdicts: the run's whole set is read for its report, not for a page of it.
        var rows = await db.JudgementScoresAsync(runId, ids, cancellationToken);
        var scoring = await ScoringContextAsync(db, runId, cancellationToken);
        var items = personas.Select(p => new RunPersonaItem(p.PersonaId, p.Text, p.Status, p.Error, ScoresOf(agents, rows, p.PersonaId, scoring))).ToList();
        return new Page<RunPersonaItem>(total, page.Offset, page.Limit, items);
    }

    /// <summary>The run's questions, persona by persona, task by task; null when there is no such run.</summary>
    public static async Task<Page<QuestionItem>?> QuestionsAsync(PersonaGymDbContext db, Guid runId, PageRequest page, EvidenceFilter filter, CancellationToken cancellationToken = default)
    {
        var run = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => new { r.QuestionSetId }).FirstOrDefaultAsync(cancellationToken);
        if (run is null) return null;
        var personaIds = db.RunPersonas.Where(p => p.RunId == runId).Select(p => p.PersonaId);
        var query = db.Questions.AsNoTracking()
            .Where(q => q.QuestionSetPersona.QuestionSetId == run.QuestionSetId && personaIds.Contains(q.QuestionSetPersona.PersonaId));
        if (filter.Task is { } task) query = query.Where(q => q.Task == task);
        if (filter.PersonaId is { } persona) query = query.Where(q => q.QuestionSetPersona.PersonaId == persona);
        var total = await query.CountAsync(cancellationToken);
        // Tasks are stored by name; ordering by id keeps the writing order (ids are version 7 GUIDs, time-ordered).
        var items = await query.OrderBy(q => q.QuestionSetPersona.PersonaId).ThenBy(q => q.Id)
            .Skip(page.Offset).Take(page.Limit)
            .Select(q => new QuestionItem(q.Id, q.QuestionSetPersona.PersonaId, q.Task, q.Ordinal, q.Batch.BatchIndex, q.Text))
            .ToListAsync(cancellationToken);
        return new Page<QuestionItem>(total, page.Offset, page.Limit, items);
    }

    /// <summary>The run's answers, oldest first; null when there is no such run.</summary>
    public static async Task<Page<AnswerItem>?> AnswersAsync(PersonaGymDbContext db, Guid runId, PageRequest page, EvidenceFilter filter, CancellationToken cancellationToken = default)
    {
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken)) return null;
        var query = db.Answers.AsNoTracking().Where(a => a.RunId == runId);
        if (filter.Task is { } task) query = query.Where(a => a.Question.Task == task);
        if (filter.PersonaId is { } persona) query = query.Where(a => a.Question.QuestionSetPersona.PersonaId == persona);
        if (filter.Agent is { } agent) query = query.Where(a => a.Agent.Spec == agent);
        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderBy(a => a.Id)
            .Skip(page.Offset).Take(page.Limit)
            .Select(a => new AnswerItem(a.Id, a.QuestionId, a.Question.QuestionSetPersona.PersonaId, a.Question.Task, a.Question.Ordinal, a.Agent.Spec, a.Text, a.CreatedAt))
            .ToListAsync(cancellationToken);
        return new Page<AnswerItem>(total, page.Offset, page.Limit, items);
    }

    /// <summary>The run's verdicts, oldest first; null when there is no such run.</summary>
    public static async Task<Page<VerdictItem>?> VerdictsAsync(PersonaGymDbContext db, Guid runId, PageRequest page, EvidenceFilter filter, CancellationToken cancellationToken = default)
    {
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken)) return null;
        var query = Verdicts(db, runId);
        if (filter.Task is { } task) query = query.Where(j => j.Answer.Question.Task == task);
        if (filter.PersonaId is { } persona) query = query.Where(j => j.Answer.Question.QuestionSetPersona.PersonaId == persona);
        if (filter.Agent is { } agent) query = query.Where(j => j.Answer.Agent.Spec == agent);
        if (filter.Judge is { } judge) query = query.Where(j => j.Judge.Spec == judge);
        if (filter.ParseFailuresOnly) query = query.Where(j => j.Score == null);
        var total = await query.CountAsync(cancellationToken);
        var items = await ToVerdictItems(query.OrderBy(j => j.Id).Skip(page.Offset).Take(page.Limit)).ToListAsync(cancellationToken);
        return new Page<VerdictItem>(total, page.Offset, page.Limit, items);
    }

    /// <summary>One persona of a run with all its evidence; null when the run or the persona is unknown.</summary>
    public static async Task<PersonaEvidence?> PersonaAsync(PersonaGymDbContext db, Guid runId, Guid personaId, CancellationToken cancellationToken = default)
    {
        var run = await db.Runs.AsNoTracking().Where(r => r.Id == runId)
            .Select(r => new { r.QuestionSetId, r.ExemplarWriterSpec }).FirstOrDefaultAsync(cancellationToken);
        if (run is null) return null;
        var persona = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == runId && p.PersonaId == personaId)
            .Select(p => new { p.Persona.Text, p.Status, p.Error, Environments = p.QuestionSetPersona == null ? null : p.QuestionSetPersona.Environments })
            .FirstOrDefaultAsync(cancellationToken);
        if (persona is null) return null;

        var agents = await AgentsAsync(db, runId, cancellationToken);
        var judges = await db.RunModels.AsNoTracking().Where(m => m.RunId == runId && m.Role == RunModelRole.Judge)
            .OrderBy(m => m.Ordinal).Select(m => m.Spec).ToListAsync(cancellationToken);

        var questions = await db.Questions.AsNoTracking()
            .Where(q => q.QuestionSetPersona.QuestionSetId == run.QuestionSetId && q.QuestionSetPersona.PersonaId == personaId)
            .Select(q => new { q.Id, q.Task, q.Ordinal, q.Batch.BatchIndex, q.Text })
            .ToListAsync(cancellationToken);
        var questionIds = questions.Select(q => q.Id).ToList();

        var answers = await db.Answers.AsNoTracking().Where(a => a.RunId == runId && questionIds.Contains(a.QuestionId))
            .Select(a => new { a.Id, a.QuestionId, Agent = a.Agent.Spec, a.Text })
            .ToListAsync(cancellationToken);
        var verdicts = await ToVerdictItems(Verdicts(db, runId).Where(j => questionIds.Contains(j.Answer.QuestionId))).ToListAsync(cancellationToken);
        var rubricVersions = verdicts.Count == 0 ? [] : await db.Judgements.AsNoTracking()
            .Where(j => j.RunId == runId && questionIds.Contains(j.Answer.QuestionId)).Select(j => j.RubricVersion).Distinct().ToListAsync(cancellationToken);
        var exemplars = await db.Exemplars.AsNoTracking()
            .Where(e => questionIds.Contains(e.QuestionId) && e.WriterSpec == run.ExemplarWriterSpec)
            .Select(e => new { e.QuestionId, e.RubricVersion, e.Score, e.Text, e.CreatedAt })
            .ToListAsync(cancellationToken);

        var rows = await db.JudgementScoresAsync(runId, null, personaId, cancellationToken);
        var environmentsOf = QuestionEnvironments.Matcher(persona.Environments ?? []);
        var tasks = PersonaTasks.All.Select(task => new TaskEvidence(task, task.DisplayName(), questions
                .Where(q => q.Task == task).OrderBy(q => q.Ordinal)
                .Select(q => new QuestionEvidence(q.Id, q.Ordinal, q.BatchIndex, q.Text,
                    ExemplarsFor(exemplars.Where(e => e.QuestionId == q.Id).Select(e => (e.RubricVersion, e.Score, e.Text, e.CreatedAt)), rubricVersions),
                    agents.Select(agent => answers.FirstOrDefault(a => a.QuestionId == q.Id && a.Agent == agent))
                        .Where(a => a is not null)
                        .Select(a =>
                        {
                            var graded = verdicts.Where(v => v.AnswerId == a!.Id).OrderBy(v => judges.IndexOf(v.Judge)).ToList();
                            var scored = graded.Where(v => v.Score is not null).ToList();
                            return new AnswerEvidence(a!.Id, a.Agent, a.Text, scored.Count == 0 ? null : scored.Average(v => (double)v.Score!.Value), graded);
                        })
                        .ToList())
                {
                    Environments = environmentsOf(q.Text),
                })
                .ToList()))
            .ToList();

        return new PersonaEvidence(runId, personaId, persona.Text, persona.Status, persona.Error, persona.Environments ?? [],
            agents, judges, ScoresOf(agents, rows, personaId, await ScoringContextAsync(db, runId, cancellationToken)), tasks);
    }

    /// <summary>The exemplars of one rubric version: the one the run's judges used, else the newest written.</summary>
    private static IReadOnlyList<ExemplarItem> ExemplarsFor(IEnumerable<(string RubricVersion, int Score, string Text, DateTimeOffset CreatedAt)> written, IReadOnlyList<string> usedVersions)
    {
        var all = written.ToList();
        if (all.Count == 0) return [];
        var version = all.Select(e => e.RubricVersion).FirstOrDefault(usedVersions.Contains)
            ?? all.OrderByDescending(e => e.CreatedAt).First().RubricVersion;
        return all.Where(e => e.RubricVersion == version).OrderBy(e => e.Score).Select(e => new ExemplarItem(e.Score, e.Text)).ToList();
    }

    private static IQueryable<Judgement> Verdicts(PersonaGymDbContext db, Guid runId) =>
        db.Judgements.AsNoTracking().Where(j => j.RunId == runId);

    private static IQueryable<VerdictItem> ToVerdictItems(IQueryable<Judgement> judgements) =>
        judgements.Select(j => new VerdictItem(j.Id, j.AnswerId, j.Answer.QuestionId, j.Answer.Question.QuestionSetPersona.PersonaId,
            j.Answer.Question.Task, j.Answer.Agent.Spec, j.Judge.Spec, j.Score, j.ParseFailure, j.Reasoning, j.RawText));

    private static Task<List<string>> AgentsAsync(PersonaGymDbContext db, Guid runId, CancellationToken cancellationToken) =>
        db.RunModels.AsNoTracking().Where(m => m.RunId == runId && m.Role == RunModelRole.Agent)
            .OrderBy(m => m.Ordinal).Select(m => m.Spec).ToListAsync(cancellationToken);


    private sealed record ScoringContext(ScoringPlan Plan, IReadOnlyDictionary<string, Guid> AgentIds);

    /// <summary>What each persona's scores should rest on: the run's judges and planned batches (as the run report uses).</summary>
    private static async Task<ScoringContext> ScoringContextAsync(PersonaGymDbContext db, Guid runId, CancellationToken cancellationToken) =>
        new(await db.ScoringPlanAsync(runId, cancellationToken),
            await db.RunModels.AsNoTracking().Where(m => m.RunId == runId && m.Role == RunModelRole.Agent)
                .ToDictionaryAsync(m => m.Spec, m => m.Id, cancellationToken));

    private static IReadOnlyList<PersonaModelScore> ScoresOf(IReadOnlyList<string> agents, IReadOnlyList<JudgementScoreRow> rows, Guid personaId,
        ScoringContext scoring) =>
        agents.Select(agent =>
        {
            var report = PersonaScoreComputation.ComputePersonaScore(
                rows.Where(r => r.PersonaId == personaId && r.AgentSpec == agent), scoring.Plan.For(scoring.AgentIds[agent], personaId));
            return new PersonaModelScore(agent, report.PersonaScore, report.Tasks, report.ParseFailures, report.Notes)
            {
                Complete = report.Complete,
                Missing = RunReportWriter.MissingCell(report),
            };
        }).ToList();
}
