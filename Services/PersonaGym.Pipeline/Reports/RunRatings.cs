using System.Globalization;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Reports;
using PersonaGym.Core.Statistics;
using PersonaGym.Data;

namespace PersonaGym.Pipeline.Reports;

/// <summary>One answer to rate, shown blind: no model name, no judge scores.</summary>
/// <param name="Rubric">The task's rubric: what each score 1–5 means.</param>
/// <param name="Score">This rater's score, when already given (a rater can stop and continue later).</param>
public sealed record RatingItem(Guid AnswerId, string Persona, PersonaTask Task, string TaskName, IReadOnlyDictionary<int, string> Rubric, string Question, string Answer, int? Score);

/// <param name="Rated">Items of the sample this rater has scored.</param>
public sealed record RatingSample(string Rater, int Rated, IReadOnlyList<RatingItem> Items);

/// <summary>The body of <c>PUT /api/runs/{id}/ratings/{answerId}</c>.</summary>
public sealed record RatingRequest(string? Rater, int Score);

public sealed record RaterCount(string Rater, int Ratings);

public enum RatingOutcome
{
    Stored,
    NoSuchAnswer,
    /// <summary>Another sign-in rated under this name first.</summary>
    AnotherRatersName,
}

/// <summary>People against the judges for one model under test: the statistics of <c>personagym calibrate</c>.</summary>
public sealed record AgentCalibration(string Agent, CalibrationReport Report);

public sealed record RatingAgreement(IReadOnlyList<RaterCount> Raters, IReadOnlyList<AgentCalibration> Agents);

/// <summary>Rating answers by hand: a blind, stratified sample, ratings per rater, and agreement with the judges.</summary>
public static class RunRatings
{
    public const int DefaultSampleSize = 30;
    public const int MaxSampleSize = 500;

    /// <summary>
    /// The run's sample for rating: the same for every rater (so raters can be compared), stratified by task and, within
    /// each task, by model under test (the five tasks take turns; within a task the model with the fewest answers taken
    /// from that task goes next, then the one with the fewest overall), so within a task each model has as many answers in
    /// the sample as the others, give or take one, while it has answers left. Shown in an order that follows neither the models nor the personas (a hash of the answer). A larger
    /// sample holds every answer of a smaller one, so a rater who asks for more keeps their ratings. Null when there
    /// is no such run.
    /// </summary>
    public static async Task<RatingSample?> SampleAsync(PersonaGymDbContext db, PersonaGymMethod method, Guid runId, string rater, int size, CancellationToken cancellationToken = default)
    {
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken)) return null;
        var answers = await db.Answers.AsNoTracking().Where(a => a.RunId == runId)
            .Select(a => new { a.Id, a.Question.Task, a.AgentId }).ToListAsync(cancellationToken);

        // Per task, one stratum per model under test, each in the hash order; which model's stratum comes first is a
        // hash too, so that a tie says nothing.
        var tasks = PersonaTasks.All
            .Select(task => answers.Where(a => a.Task == task).GroupBy(a => a.AgentId)
                .Select(g => new Stratum(g.Key, new Queue<Guid>(g.Select(a => a.Id).OrderBy(id => Shuffle(runId, id)))))
                .OrderBy(s => Shuffle(runId, s.AgentId))
                .ToList())
            .ToList();
        var takenPerAgent = new Dictionary<Guid, int>();
        var chosen = new List<Guid>(size);
        while (chosen.Count < size && tasks.Any(t => t.Any(s => s.Answers.Count > 0)))
        {
            foreach (var strata in tasks)
            {
                if (chosen.Count == size) break;
                var next = strata.Where(s => s.Answers.Count > 0)
                    .OrderBy(s => s.Taken).ThenBy(s => takenPerAgent.GetValueOrDefault(s.AgentId)).FirstOrDefault();
                if (next is null) continue;
                chosen.Add(next.Answers.Dequeue());
                next.Taken++;
                takenPerAgent[next.AgentId] = takenPerAgent.GetValueOrDefault(next.AgentId) + 1;
            }
        }

        // Taken in turns the sample would show its strata in a pattern (task after task, model after model).
        chosen = chosen.OrderBy(id => Shuffle(runId, id)).ToList();

        var texts = await db.Answers.AsNoTracking().Where(a => chosen.Contains(a.Id))
            .Select(a => new { a.Id, Persona = a.Question.QuestionSetPersona.Persona.Text, a.Question.Task, Question = a.Question.Text, a.Text })
            .ToDictionaryAsync(a => a.Id, cancellationToken);
        var scores = await db.HumanRatings.AsNoTracking().Where(r => r.RunId == runId && r.Rater == rater && chosen.Contains(r.AnswerId))
            .ToDictionaryAsync(r => r.AnswerId, r => r.Score, cancellationToken);

        var items = chosen.Select(id =>
        {
            var a = texts[id];
            return new RatingItem(id, a.Persona, a.Task, a.Task.DisplayName(), method.Assets.Rubric(a.Task).Levels, a.Question, a.Text,
                scores.TryGetValue(id, out var s) ? s : null);
        }).ToList();
        return new RatingSample(rater, items.Count(i => i.Score is not null), items);
    }

    /// <summary>
    /// Whether <paramref name="principal"/> may rate, or read the sample of, <paramref name="rater"/>: true when the
    /// name is theirs or (with <paramref name="claim"/>) unclaimed, which makes it theirs; false when another sign-in
    /// rated under it first. Concurrent first claims are settled by the name's primary key: one wins, the other sees it.
    /// </summary>
    public static async Task<bool> MayRateAsAsync(PersonaGymDbContext db, string rater, string principal, bool claim, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var owner = await db.RaterNames.AsNoTracking().Where(n => n.Name == rater).Select(n => n.Principal).FirstOrDefaultAsync(cancellationToken);
        if (owner is not null) return owner == principal;
        if (!claim) return true;
        db.RaterNames.Add(new RaterName { Name = rater, Principal = principal, CreatedAt = now });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException e) when (DbExceptions.IsUniqueViolation(e))
        {
            db.ChangeTracker.Clear();
            return await db.RaterNames.AsNoTracking().AnyAsync(n => n.Name == rater && n.Principal == principal, cancellationToken);
        }
    }

    /// <summary>
    /// Stores (or replaces) a rater's score for an answer of the run, as <paramref name="principal"/>, whose name the
    /// rater becomes when unclaimed (<see cref="MayRateAsAsync"/>). Nothing is stored or claimed when the run has no
    /// such answer or the name is another sign-in's.
    /// </summary>
    public static async Task<RatingOutcome> RateAsync(PersonaGymDbContext db, Guid runId, Guid answerId, string rater, string principal, int score, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        if (!await db.Answers.AnyAsync(a => a.Id == answerId && a.RunId == runId, cancellationToken)) return RatingOutcome.NoSuchAnswer;
        if (!await MayRateAsAsync(db, rater, principal, claim: true, now, cancellationToken)) return RatingOutcome.AnotherRatersName;
        var existing = await db.HumanRatings.FirstOrDefaultAsync(r => r.AnswerId == answerId && r.Rater == rater, cancellationToken);
        if (existing is null)
        {
            db.HumanRatings.Add(new HumanRating { RunId = runId, AnswerId = answerId, Rater = rater, Score = score, CreatedAt = now, UpdatedAt = now });
        }
        else
        {
            existing.Score = score;
            existing.UpdatedAt = now;
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (DbExceptions.IsUniqueViolation(e))
        {
            // The same rater's other tab won the insert: the score is stored as theirs; set it to this one.
            db.ChangeTracker.Clear();
            await db.HumanRatings.Where(r => r.AnswerId == answerId && r.Rater == rater)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Score, score).SetProperty(r => r.UpdatedAt, now), cancellationToken);
        }

        return RatingOutcome.Stored;
    }

    /// <summary>
    /// Per model under test, people (the mean over raters per answer) against the judges' mean per answer: Spearman and
    /// Kendall τb per task and pooled, as <c>personagym calibrate</c> computes them. Null when there is no such run.
    /// </summary>
    public static async Task<RatingAgreement?> AgreementAsync(PersonaGymDbContext db, Guid runId, CancellationToken cancellationToken = default)
    {
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken)) return null;
        var raters = await db.HumanRatings.AsNoTracking().Where(r => r.RunId == runId)
            .GroupBy(r => r.Rater).Select(g => new RaterCount(g.Key, g.Count())).ToListAsync(cancellationToken);
        var agents = await db.RunModels.AsNoTracking().Where(m => m.RunId == runId && m.Role == RunModelRole.Agent)
            .OrderBy(m => m.Ordinal).Select(m => new { m.Id, m.Spec }).ToListAsync(cancellationToken);

        var calibrations = new List<AgentCalibration>();
        foreach (var agent in agents)
        {
            var human = await HumanScoresAsync(db, runId, agent.Id, cancellationToken);
            if (human.Count == 0) continue;
            var judged = await JudgedAnswers.ForAgentAsync(db, runId, agent.Id, cancellationToken);
            calibrations.Add(new AgentCalibration(agent.Spec, Calibration.Compare(human, judged.Select(j => (j.Persona, j.Task, j.Question, j.JudgeMean)))));
        }

        return new RatingAgreement(raters.OrderBy(r => r.Rater, StringComparer.Ordinal).ToList(), calibrations);
    }

    /// <summary>
    /// The ratings of one model under test's answers as the CSV <c>personagym calibrate --human</c> reads (persona, task,
    /// question, score; the mean over raters); null when the run has no such model.
    /// </summary>
    public static async Task<string?> HumanCsvAsync(PersonaGymDbContext db, Guid runId, string agentSpec, CancellationToken cancellationToken = default)
    {
        var agentId = await db.RunModels.AsNoTracking().Where(m => m.RunId == runId && m.Role == RunModelRole.Agent && m.Spec == agentSpec)
            .Select(m => (Guid?)m.Id).FirstOrDefaultAsync(cancellationToken);
        if (agentId is null) return null;
        var scores = await HumanScoresAsync(db, runId, agentId.Value, cancellationToken);
        var rows = new List<IEnumerable<string?>> { HumanScoreFile.RequiredColumns };
        rows.AddRange(scores
            .GroupBy(s => (s.Persona, s.Task, s.Question))
            .OrderBy(g => g.Key.Task).ThenBy(g => g.Key.Persona, StringComparer.Ordinal).ThenBy(g => g.Key.Question, StringComparer.Ordinal)
            .Select(g => new[] { g.Key.Persona, g.Key.Task.DisplayName(), g.Key.Question, g.Average(s => s.Score).ToString("0.###", CultureInfo.InvariantCulture) }));
        return Csv.FormatTable(rows);
    }

    private static async Task<List<HumanScore>> HumanScoresAsync(PersonaGymDbContext db, Guid runId, Guid agentId, CancellationToken cancellationToken)
    {
        var rows = await db.HumanRatings.AsNoTracking().Where(r => r.RunId == runId && r.Answer.AgentId == agentId)
            .Select(r => new { Persona = r.Answer.Question.QuestionSetPersona.Persona.Text, r.Answer.Question.Task, Question = r.Answer.Question.Text, r.Score })
            .ToListAsync(cancellationToken);
        return rows.Select(r => new HumanScore(r.Persona, r.Task, r.Question, r.Score)).ToList();
    }

    /// <summary>A stable order that reveals nothing: a hash of the run and the answer (or the model under test).</summary>
    private static ulong Shuffle(Guid runId, Guid id) =>
        BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{runId:N}{id:N}")));

    /// <summary>One model under test's answers to one task, not yet taken into the sample.</summary>
    private sealed class Stratum(Guid agentId, Queue<Guid> answers)
    {
        public Guid AgentId { get; } = agentId;

        public Queue<Guid> Answers { get; } = answers;

        public int Taken { get; set; }
    }
}
