using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Models;
using PersonaGym.Pipeline.QuestionSets;

namespace PersonaGym.Pipeline.Runs;

/// <summary>A request with every default filled in and every input checked: what a run will be.</summary>
public sealed record RunPlan(
    RunRequest Request,
    IReadOnlyList<string> Personas,
    IReadOnlyList<string> Agents,
    IReadOnlyList<string> Judges,
    string? QuestionWriter,
    string ExemplarWriter,
    QuestionSet? StoredSet,
    int QuestionsPerTask,
    int BatchesPerPersona,
    QuestionSet? EnvironmentPoolSet = null)
{
    public bool GeneratesQuestions => StoredSet is null;

    /// <summary>What weakens the run without stopping it: said before it starts and again in every report.</summary>
    public IReadOnlyList<string> Warnings => Judges.Count == 1 ? [SingleJudgeWarning(Judges[0])] : [];

    public static string SingleJudgeWarning(string judge) =>
        $"Only one judge ({judge}): the method is an ensemble of two or more judges, so the scores are not comparable with the paper's";

    public bool UsesOfflineModels => Agents.Concat(Judges).Append(ExemplarWriter).Concat(QuestionWriter is null ? [] : [QuestionWriter])
        .Any(s => ModelSpec.TryParse(s, out var spec, out _) && spec!.IsOffline);
}

/// <summary>
/// The problems that stop a request, each on its own line and each with the request field it is about
/// (<see cref="RunRequestFields"/>); nothing is stored when there are any.
/// </summary>
public sealed class RunRequestException(IReadOnlyList<RunProblem> fieldProblems)
    : Exception("The run request is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, Messages(fieldProblems).Select(p => "  - " + p)))
{
    /// <summary>Problems about the request as a whole.</summary>
    public RunRequestException(IReadOnlyList<string> problems) : this(problems.Select(p => new RunProblem(RunRequestFields.General, p)).ToList())
    {
    }

    /// <summary>Each problem with its field.</summary>
    public IReadOnlyList<RunProblem> FieldProblems { get; } = fieldProblems;

    /// <summary>The messages, in order (what the CLI prints).</summary>
    public IReadOnlyList<string> Problems { get; } = Messages(fieldProblems);

    /// <summary>
    /// Each problem once: a spec's problem is keyed by every field that names it (one spec may be a model under test and
    /// a judge), but it is one problem, listed and counted once.
    /// </summary>
    public static IReadOnlyList<string> Messages(IEnumerable<RunProblem> problems) => problems.Select(p => p.Message).Distinct().ToList();
}

/// <summary>
/// Turns a <see cref="RunRequest"/> into stored rows and the first messages. Used by the CLI and the Api alike, so a
/// request is validated the same way wherever it comes from, and nothing is stored or called unless all of it is valid.
/// </summary>
public sealed class RunSubmitter(
    IDbContextFactory<PersonaGymDbContext> contexts,
    ModelPipelineFactory models,
    PersonaGymMethod method,
    RunCoordinator coordinator,
    IOptions<ModelDefaults> defaults,
    IOptions<RunLimits> limits,
    TimeProvider time)
{
    public const int MaxQuestionsPerTask = 100;
    public const int MaxBatchSize = 20;

    /// <summary>Checks the request completely (personas, models and keys, question set, numbers) before anything is stored.</summary>
    public async Task<RunPlan> PlanAsync(RunRequest request, CancellationToken cancellationToken = default)
    {
        // Size first: a request over its bounds is refused before any of it is looked at further or stored.
        var bounds = BoundsProblems(request, limits.Value);
        if (bounds.Count > 0) throw new RunRequestException(bounds);

        var problems = new List<RunProblem>();
        void Problem(string field, string message) => problems.Add(new RunProblem(field, message));
        var d = defaults.Value;

        var agents = Distinct(request.Agents.Count > 0 ? request.Agents : d.Agents, "agent", RunRequestFields.Agents, request.Agents.Count > 0, problems);
        var judges = Distinct(request.Judges.Count > 0 ? request.Judges : d.Judges, "judge", RunRequestFields.Judges, request.Judges.Count > 0, problems);
        if (agents.Count == 0) Problem(RunRequestFields.Agents, "at least one agent (model under test) is needed");
        if (judges.Count == 0) Problem(RunRequestFields.Judges, "at least one judge model is needed");
        var exemplarWriter = Blank(request.ExemplarWriter) ?? d.ExemplarWriter;

        if (request.QuestionsPerTask < 1 || request.QuestionsPerTask > limits.Value.MaxQuestionsPerTask)
            Problem(RunRequestFields.QuestionsPerTask, $"questions per task must be between 1 and {limits.Value.MaxQuestionsPerTask} (got {request.QuestionsPerTask})");
        if (request.BatchSize is < 1 or > MaxBatchSize)
            Problem(RunRequestFields.BatchSize, $"batch size must be between 1 and {MaxBatchSize} (got {request.BatchSize})");
        if (request.MaxCalls is <= 0) Problem(RunRequestFields.MaxCalls, "--max-calls must be positive");
        if (request.MaxTokens is <= 0) Problem(RunRequestFields.MaxTokens, "--max-tokens must be positive");
        if (request.PersonaLimit is <= 0) Problem(RunRequestFields.PersonaLimit, "the persona limit must be positive");

        QuestionSet? storedSet = null;
        IReadOnlyList<string> personas = [];
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (Blank(request.QuestionSet) is { } setName)
        {
            storedSet = await FindQuestionSetAsync(db, setName, cancellationToken);
            if (storedSet is null)
            {
                Problem(RunRequestFields.QuestionSet, $"no question set named '{setName}' (import one with `personagym benchmark import DIR`, list them with `personagym sets`)");
            }
        }

        if (request.Personas.Count > 0)
        {
            personas = ValidatePersonas(request.Personas, problems);
            if (storedSet is not null && personas.Count > 0)
            {
                var hashes = personas.Select(Persona.HashOf).ToList();
                var present = await db.QuestionSetPersonas.AsNoTracking()
                    .Where(s => s.QuestionSetId == storedSet.Id && hashes.Contains(s.Persona.TextHash))
                    .Select(s => s.Persona.TextHash).ToListAsync(cancellationToken);
                var reported = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < request.Personas.Count; i++)
                {
                    // Each missing persona at its place in the request (invalid ones are reported already, repeats once).
                    if (Personas.Validate(request.Personas[i]) is not null) continue;
                    var persona = Personas.Normalize(request.Personas[i]);
                    if (!present.Contains(Persona.HashOf(persona)) && reported.Add(persona))
                        Problem(RunRequestFields.Persona(i), $"the question set {storedSet.Name}@{storedSet.Version} has no questions for the persona \"{Shorten(persona)}\"");
                }
            }
        }
        else if (storedSet is not null)
        {
            var query = db.QuestionSetPersonas.AsNoTracking().Where(s => s.QuestionSetId == storedSet.Id && s.Status == QuestionSetPersonaStatus.Ready)
                .OrderBy(s => s.UpdatedAt).ThenBy(s => s.Id).Select(s => s.Persona.Text);
            personas = request.PersonaLimit is { } limit ? await query.Take(limit).ToListAsync(cancellationToken) : await query.ToListAsync(cancellationToken);
            if (personas.Count == 0) Problem(RunRequestFields.QuestionSet, $"the question set {storedSet.Name}@{storedSet.Version} holds no personas");
        }
        else
        {
            Problem(RunRequestFields.Personas, "no personas given");
        }

        string? questionWriter = null;
        QuestionSet? poolSet = null;
        if (Blank(request.EnvironmentPool) is { } poolName)
        {
            if (storedSet is not null) Problem(RunRequestFields.EnvironmentPool, "an environment pool is for runs that generate questions; a stored question set brings its own questions");
            poolSet = await FindQuestionSetAsync(db, poolName, cancellationToken);
            if (poolSet is null)
                Problem(RunRequestFields.EnvironmentPool, $"no question set named '{poolName}' for the environment pool (import one with `personagym benchmark import DIR`)");
        }

        if (storedSet is null)
        {
            questionWriter = Blank(request.QuestionWriter) ?? d.QuestionWriter;
            IReadOnlyList<string> pool = poolSet is null ? method.Assets.Environments : await QuestionSetCatalog.EnvironmentPoolAsync(db, poolSet.Id, cancellationToken);
            if (poolSet is not null && pool.Count == 0)
                Problem(RunRequestFields.EnvironmentPool, $"the question set {poolSet.Name}@{poolSet.Version} records no environments to use as a pool");
            if (!request.AutoEnvironments)
            {
                for (var i = 0; i < request.Environments.Count; i++)
                {
                    var name = request.Environments[i];
                    if (!pool.Contains(name.Trim(), StringComparer.OrdinalIgnoreCase))
                        Problem(RunRequestFields.Environment(i), $"unknown environment '{name}' (use 'auto', or names from the pool, e.g. {string.Join(", ", pool.Take(5))}, …)");
                }
            }
        }

        var specs = agents.Concat(judges).Append(exemplarWriter).Concat(questionWriter is null ? [] : [questionWriter]).Distinct().ToList();
        // A spec's problem belongs to every field that names it (the same spec may be a model under test and a judge).
        foreach (var problem in models.Validate(specs))
        {
            foreach (var field in RunRequestFields.Naming(problem.Spec, request, questionWriter, exemplarWriter)) Problem(field, problem.ToString());
        }

        if (problems.Count > 0) throw new RunRequestException(problems);

        // A stored set carries its own questions and batches; a generated one follows the request.
        var questionsPerTask = request.QuestionsPerTask;
        var batchesPerPersona = PersonaTasks.All.Count * (int)Math.Ceiling(request.QuestionsPerTask / (double)request.BatchSize);
        if (storedSet is not null)
        {
            var shape = await db.QuestionBatches.AsNoTracking().Where(b => b.QuestionSetPersona.QuestionSetId == storedSet.Id)
                .GroupBy(b => b.QuestionSetPersonaId)
                .Select(g => new { Batches = g.Count(), Questions = g.Sum(b => b.Questions.Count) })
                .FirstOrDefaultAsync(cancellationToken);
            batchesPerPersona = shape?.Batches ?? 0;
            questionsPerTask = (shape?.Questions ?? 0) / PersonaTasks.All.Count;
        }

        var work = (long)personas.Count * agents.Count * batchesPerPersona;
        if (work > limits.Value.MaxBatchesPerRun)
        {
            throw new RunRequestException([$"the run would create {work} batches ({personas.Count} personas × {agents.Count} models under test × {batchesPerPersona} batches each); " +
                                           $"this server accepts at most {limits.Value.MaxBatchesPerRun} per run ({RunLimits.Section}:MaxBatchesPerRun): split it into several runs"]);
        }

        return new RunPlan(request, personas, agents, judges, questionWriter, exemplarWriter, storedSet, questionsPerTask, batchesPerPersona, poolSet);
    }

    /// <summary>Every way the request exceeds the server's bounds or holds what cannot be stored (control characters).</summary>
    private static List<RunProblem> BoundsProblems(RunRequest request, RunLimits limits)
    {
        var problems = new List<RunProblem>();
        void Problem(string field, string message) => problems.Add(new RunProblem(field, message));
        void Text(string field, string what, string? text, int max)
        {
            if (text is null) return;
            if (text.Length > max) Problem(field, $"{what} is longer than {max} characters ({text.Length})");
            else if (RunLimits.ControlCharacterProblem(text) is { } problem) Problem(field, $"{what} {problem}");
        }

        Text(RunRequestFields.Name, "the run name", request.Name, limits.MaxNameCharacters);
        if (request.Personas.Count > limits.MaxPersonasPerRun)
            Problem(RunRequestFields.Personas, $"{request.Personas.Count} personas is more than this server accepts in one run ({limits.MaxPersonasPerRun}, {RunLimits.Section}:MaxPersonasPerRun)");
        else
        {
            for (var i = 0; i < request.Personas.Count; i++)
            {
                if (request.Personas[i] is { } persona && persona.Length > limits.MaxPersonaCharacters && persona.Trim().Length > limits.MaxPersonaCharacters)
                    Problem(RunRequestFields.Persona(i), $"persona #{i + 1} is longer than {limits.MaxPersonaCharacters} characters ({RunLimits.Section}:MaxPersonaCharacters)");
            }
        }

        foreach (var (role, field, specs) in new[] { ("agent", RunRequestFields.Agents, request.Agents), ("judge", RunRequestFields.Judges, request.Judges) })
        {
            if (specs.Count > limits.MaxModelsPerRole) Problem(field, $"{specs.Count} {role}s is more than {limits.MaxModelsPerRole} ({RunLimits.Section}:MaxModelsPerRole)");
            else for (var i = 0; i < specs.Count; i++) Text(RunRequestFields.Item(field, i), $"{role} #{i + 1}", specs[i], limits.MaxSpecCharacters);
        }

        Text(RunRequestFields.QuestionWriter, "the question writer", request.QuestionWriter, limits.MaxSpecCharacters);
        Text(RunRequestFields.ExemplarWriter, "the exemplar writer", request.ExemplarWriter, limits.MaxSpecCharacters);
        Text(RunRequestFields.QuestionSet, "the question set", request.QuestionSet, MaxQuestionSetReference);
        if (request.Environments.Count > limits.MaxEnvironments)
            Problem(RunRequestFields.Environments, $"{request.Environments.Count} environments is more than {limits.MaxEnvironments} ({RunLimits.Section}:MaxEnvironments)");
        else for (var i = 0; i < request.Environments.Count; i++) Text(RunRequestFields.Environment(i), $"environment #{i + 1}", request.Environments[i], 200);
        if (request.PersonaLimit > limits.MaxPersonasPerRun)
            Problem(RunRequestFields.PersonaLimit, $"the persona limit {request.PersonaLimit} is more than this server accepts in one run ({limits.MaxPersonasPerRun})");
        return problems;
    }

    /// <summary>"name@version": a question set's name (400) and version (100) columns.</summary>
    private const int MaxQuestionSetReference = 501;

    /// <summary>Stores the run, its models, personas and (for generated questions) its own question set, in one transaction.</summary>
    public async Task<Guid> CreateAsync(RunPlan plan, CancellationToken cancellationToken = default)
    {
        var request = plan.Request;
        var now = time.GetUtcNow();
        var runId = Guid.CreateVersion7();
        var name = Blank(request.Name) ?? $"run-{now:yyyyMMdd-HHmmss}";

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

            var setId = plan.StoredSet?.Id ?? Guid.CreateVersion7();
            if (plan.StoredSet is null)
            {
                db.QuestionSets.Add(new QuestionSet
                {
                    Id = setId,
                    Name = $"run-{runId}",
                    Version = "1",
                    Source = QuestionSetSource.Generated,
                    CreatedAt = now,
                    Description = $"Questions generated for run '{name}' by {plan.QuestionWriter}",
                });
            }

            var run = new Run
            {
                Id = runId,
                Name = name,
                CreatedAt = now,
                UpdatedAt = now,
                Status = RunStatus.Running,
                QuestionSetId = setId,
                QuestionsPerTask = plan.QuestionsPerTask,
                EnvironmentsMode = request.AutoEnvironments ? Run.AutomaticEnvironments : string.Join(",", request.Environments.Select(e => e.Trim())),
                EnvironmentPoolSetId = plan.EnvironmentPoolSet?.Id,
                QuestionWriterSpec = plan.QuestionWriter,
                ExemplarWriterSpec = plan.ExemplarWriter,
                BatchSize = request.BatchSize,
                MaxCalls = request.MaxCalls,
                MaxTokens = request.MaxTokens,
                UsesOfflineModels = plan.UsesOfflineModels,
                OptionsJson = JsonSerializer.Serialize(request with { Personas = [] }),
            };
            db.Runs.Add(run);
            run.Models.AddRange(plan.Agents.Select((spec, i) => new RunModel { RunId = runId, Role = RunModelRole.Agent, Spec = spec, Ordinal = i }));
            run.Models.AddRange(plan.Judges.Select((spec, i) => new RunModel { RunId = runId, Role = RunModelRole.Judge, Spec = spec, Ordinal = i }));

            var hashes = plan.Personas.Select(Persona.HashOf).ToList();
            var known = await db.Personas.Where(p => hashes.Contains(p.TextHash)).ToDictionaryAsync(p => p.TextHash, cancellationToken);
            foreach (var text in plan.Personas)
            {
                var hash = Persona.HashOf(text);
                if (!known.TryGetValue(hash, out var persona))
                {
                    persona = Persona.FromDescription(text, now);
                    db.Personas.Add(persona);
                    known[hash] = persona;
                }

                run.Personas.Add(new RunPersona { RunId = runId, PersonaId = persona.Id, UpdatedAt = now });
            }

            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });

        return runId;
    }

    /// <summary>Publishes the first message of every persona (and any unfinished batch): the run starts, or resumes.</summary>
    public Task<int> StartAsync(Guid runId, IPublishEndpoint publish, CancellationToken cancellationToken = default) =>
        coordinator.RepublishAsync(runId, publish, stalledBefore: null, cancellationToken);

    /// <summary>
    /// Resumes a stopped, failed or interrupted run: raises its budgets when given, gives failed items another try,
    /// marks it running and re-publishes everything unfinished. Stored work is never redone.
    /// </summary>
    public async Task<int> ResumeAsync(Guid runId, IPublishEndpoint publish, long? maxCalls, long? maxTokens, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.FirstOrDefaultAsync(r => r.Id == runId, cancellationToken)
            ?? throw new RunRequestException([$"no run with id {runId}"]);
        var now = time.GetUtcNow();
        if (maxCalls is <= 0 || maxTokens is <= 0) throw new RunRequestException(["budgets must be positive"]);
        if (maxCalls is not null) run.MaxCalls = maxCalls;
        if (maxTokens is not null) run.MaxTokens = maxTokens;
        run.Status = RunStatus.Running;
        run.Error = null;
        run.CompletedAt = null;
        run.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);

        // A failed batch starts again from answering: the answer stage finds its stored answers and moves straight on.
        await db.BatchWork.Where(w => w.RunId == runId && w.Stage == BatchStage.Failed)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Stage, BatchStage.Answering).SetProperty(w => w.Error, (string?)null), cancellationToken);
        await db.RunPersonas.Where(p => p.RunId == runId && p.Status == RunPersonaStatus.Failed)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.Status, RunPersonaStatus.Pending).SetProperty(p => p.Error, (string?)null), cancellationToken);
        await db.RunPersonas.Where(p => p.RunId == runId && p.Status == RunPersonaStatus.Completed && db.BatchWork.Any(w => w.RunPersonaId == p.Id && w.Stage != BatchStage.Done))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.Status, RunPersonaStatus.Answering), cancellationToken);

        var published = await coordinator.RepublishAsync(runId, publish, stalledBefore: null, cancellationToken);
        if (published == 0) await coordinator.TryCompleteAsync(runId, cancellationToken);
        return published;
    }

    /// <summary>
    /// Cancels a pending or running run: every stage checks that a run is active before it works, so nothing new is
    /// started; work already stored stays, and <see cref="ResumeAsync"/> carries on from it. False when the run was
    /// no longer active.
    /// </summary>
    public async Task<bool> CancelAsync(Guid runId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var changed = await db.Runs.Where(r => r.Id == runId && (r.Status == RunStatus.Pending || r.Status == RunStatus.Running))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Cancelled)
                .SetProperty(r => r.Error, "cancelled on request")
                .SetProperty(r => r.CompletedAt, now)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken);
        if (changed > 0) coordinator.NoteFinished(runId);
        return changed > 0;
    }

    /// <summary>"name" (newest version) or "name@version".</summary>
    public static async Task<QuestionSet?> FindQuestionSetAsync(PersonaGymDbContext db, string reference, CancellationToken cancellationToken)
    {
        var at = reference.LastIndexOf('@');
        var name = at > 0 ? reference[..at] : reference;
        var version = at > 0 ? reference[(at + 1)..] : null;
        var sets = db.QuestionSets.AsNoTracking().Where(s => s.Name == name);
        if (version is not null) sets = sets.Where(s => s.Version == version);
        var candidates = await sets.ToListAsync(cancellationToken);
        return candidates.OrderByDescending(s => s.CreatedAt).FirstOrDefault();
    }

    private static List<string> ValidatePersonas(IReadOnlyList<string> personas, List<RunProblem> problems)
    {
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < personas.Count; i++)
        {
            var problem = Personas.Validate(personas[i]);
            if (problem is not null) { problems.Add(new RunProblem(RunRequestFields.Persona(i), $"persona #{i + 1}: {problem}")); continue; }
            var text = Personas.Normalize(personas[i]);
            if (!seen.Add(text)) { problems.Add(new RunProblem(RunRequestFields.Persona(i), $"persona #{i + 1} is a duplicate: \"{Shorten(text)}\"")); continue; }
            result.Add(text);
        }

        return result;
    }

    /// <summary>
    /// The specs without blanks and repeats; a repeat is reported at its place in the request (or at the field, for
    /// defaults). Repeats are found by the model a spec names, not its spelling: "OpenAI:gpt-4o" and "openai:gpt-4o"
    /// reach one client and one response cache, so as two judges they would give one verdict twice and look like
    /// perfect agreement.
    /// </summary>
    private static List<string> Distinct(IReadOnlyList<string> specs, string role, string field, bool fromRequest, List<RunProblem> problems)
    {
        var result = new List<string>();
        var models = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i].Trim();
            if (spec.Length == 0) continue;
            var model = ModelSpec.TryParse(spec, out var parsed, out _) ? parsed.Text : spec;
            if (models.TryGetValue(model, out var earlier))
            {
                problems.Add(new RunProblem(fromRequest ? RunRequestFields.Item(field, i) : field,
                    earlier == spec ? $"the {role} {spec} is named twice" : $"the {role} {spec} is named twice (also as {earlier})"));
            }
            else
            {
                models[model] = spec;
                result.Add(spec);
            }
        }

        return result;
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
