using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Benchmark;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Pipeline.QuestionSets;

/// <summary>
/// Stored question sets as a whole: importing a benchmark in the original layout, reading a set back in that layout,
/// freezing a run's generated questions under a name, and listing what is stored. Used by the CLI and (later) the Api,
/// so a set is checked and stored the same way wherever it comes from.
/// </summary>
public sealed class QuestionSetCatalog(IDbContextFactory<PersonaGymDbContext> contexts, TimeProvider time)
{
    /// <summary>
    /// Questions per batch of an imported set: the paper writes exemplars for 5 questions in one call and grades
    /// 5 answers per judge call, and a stored set carries its batches with it.
    /// </summary>
    public const int ImportedBatchSize = 5;

    /// <summary>The version an import or a freeze gets when none is named.</summary>
    public const string DefaultVersion = "1";

    /// <summary>
    /// Stores published scores for models on a set (the benchmark's <c>published-scores/</c>), as leaderboard reference
    /// rows. Figures stored already are kept: importing again adds only what is new. Returns the figures added.
    /// </summary>
    public async Task<int> StoreReferenceScoresAsync(Guid questionSetId, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> scores, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var stored = (await db.ReferenceScores.AsNoTracking().Where(r => r.QuestionSetId == questionSetId)
            .Select(r => new { r.Model, r.Metric }).ToListAsync(cancellationToken)).Select(r => (r.Model, r.Metric)).ToHashSet();
        var added = 0;
        foreach (var (model, figures) in scores)
        {
            foreach (var (metric, value) in figures)
            {
                if (!stored.Add((model, metric))) continue;
                db.ReferenceScores.Add(new ReferenceScore { QuestionSetId = questionSetId, Model = model, Metric = metric, Value = value });
                added++;
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        return added;
    }

    /// <summary>
    /// Stores a valid benchmark as an imported, frozen set, in one transaction: every persona (found by its text hash,
    /// created when new), its questions in file order, and batches of <see cref="ImportedBatchSize"/> per task.
    /// Importing the same content again under the same name and version changes nothing
    /// (<see cref="QuestionSetImportOutcome.AlreadyImported"/>); different content under a taken name and version is
    /// refused (<see cref="QuestionSetImportOutcome.Conflict"/>), because a frozen set never changes.
    /// </summary>
    /// <exception cref="ArgumentException">The benchmark has issues, or the name or version is unusable.</exception>
    public async Task<QuestionSetImportResult> ImportAsync(
        BenchmarkReadResult benchmark, string name, string version, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(benchmark);
        if (!benchmark.IsValid)
            throw new ArgumentException($"The benchmark has {benchmark.Issues.Count} issue(s); nothing can be imported from it.", nameof(benchmark));
        if (benchmark.Personas.Count == 0)
            throw new ArgumentException("The benchmark has no personas.", nameof(benchmark));
        CheckReference(name, version);

        var questionCount = benchmark.Personas.Sum(p => p.Questions.Values.Sum(q => q.Count));
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var existing = await db.QuestionSets.AsNoTracking().FirstOrDefaultAsync(s => s.Name == name && s.Version == version, cancellationToken);
        if (existing is not null)
        {
            var stored = await LoadContentAsync(db, existing.Id, cancellationToken);
            var outcome = SameContent(stored, benchmark) ? QuestionSetImportOutcome.AlreadyImported : QuestionSetImportOutcome.Conflict;
            return new QuestionSetImportResult(outcome, Summary(existing, stored.Personas.Count, stored.Personas.Sum(p => p.Questions.Values.Sum(q => q.Count))));
        }

        var now = time.GetUtcNow();
        var set = new QuestionSet
        {
            Name = name,
            Version = version,
            Source = QuestionSetSource.Imported,
            Frozen = true,
            CreatedAt = now,
            Description = description,
        };

        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            // Thousands of new rows and nothing to compare them with: change detection would only cost time.
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

            var hashes = benchmark.Personas.Select(p => Persona.HashOf(p.Persona)).ToList();
            var known = await db.Personas.AsNoTracking().Where(p => hashes.Contains(p.TextHash))
                .Select(p => new { p.Id, p.TextHash }).ToDictionaryAsync(p => p.TextHash, p => p.Id, cancellationToken);

            var personas = new List<Persona>();
            var entries = new List<QuestionSetPersona>();
            var batches = new List<QuestionBatch>();
            var questions = new List<Question>();
            var environments = benchmark.Environments?.ToList() ?? [];
            for (var i = 0; i < benchmark.Personas.Count; i++)
            {
                var item = benchmark.Personas[i];
                if (!known.TryGetValue(hashes[i], out var personaId))
                {
                    var persona = Persona.FromDescription(item.Persona, now);
                    personas.Add(persona);
                    personaId = persona.Id;
                    known[hashes[i]] = personaId;
                }

                var entry = new QuestionSetPersona
                {
                    QuestionSetId = set.Id,
                    PersonaId = personaId,
                    // The original records the pool its questions were written from, not a subset per persona.
                    Environments = environments.ToList(),
                    Status = QuestionSetPersonaStatus.Ready,
                    // Runs take a set's personas in UpdatedAt order: one microsecond apart keeps the file's order
                    // (so `--limit N` means the benchmark's first N) on every provider's timestamp precision.
                    UpdatedAt = now.AddMicroseconds(i),
                };
                entries.Add(entry);

                foreach (var task in PersonaTasks.All)
                {
                    foreach (var batch in QuestionBatch.Split(entry.Id, task, item.Questions[task], ImportedBatchSize, QuestionSource.Imported))
                    {
                        batches.Add(batch);
                        questions.AddRange(batch.Questions);
                    }
                }
            }

            db.QuestionSets.Add(set);
            db.Personas.AddRange(personas);
            db.QuestionSetPersonas.AddRange(entries);
            db.QuestionBatches.AddRange(batches);
            db.Questions.AddRange(questions);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });

        return new QuestionSetImportResult(QuestionSetImportOutcome.Imported, Summary(set, benchmark.Personas.Count, questionCount));
    }

    /// <summary>Every stored set with its size, newest first.</summary>
    public async Task<IReadOnlyList<QuestionSetSummary>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var sets = await db.QuestionSets.AsNoTracking()
            .Select(s => new
            {
                Set = s,
                Personas = s.Personas.Count(p => p.Status == QuestionSetPersonaStatus.Ready),
                Questions = db.Questions.Count(q => q.QuestionSetPersona.QuestionSetId == s.Id),
            })
            .ToListAsync(cancellationToken);
        return sets.OrderByDescending(s => s.Set.CreatedAt).ThenBy(s => s.Set.Name, StringComparer.Ordinal)
            .Select(s => Summary(s.Set, s.Personas, s.Questions)).ToList();
    }

    /// <summary>"name" (its newest version) or "name@version"; null when there is no such set.</summary>
    public async Task<QuestionSetSummary?> FindAsync(string reference, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var set = await RunSubmitter.FindQuestionSetAsync(db, reference.Trim(), cancellationToken);
        if (set is null) return null;
        var personas = await db.QuestionSetPersonas.CountAsync(p => p.QuestionSetId == set.Id && p.Status == QuestionSetPersonaStatus.Ready, cancellationToken);
        var questions = await db.Questions.CountAsync(q => q.QuestionSetPersona.QuestionSetId == set.Id, cancellationToken);
        return Summary(set, personas, questions);
    }

    /// <summary>
    /// A set in the original benchmark's terms: its ready personas in the set's order with their questions in order,
    /// the personas whose questions are not (yet) complete, and the environments the questions are set in (the
    /// union over personas in first-seen order; null when none are recorded).
    /// </summary>
    public async Task<QuestionSetContent?> LoadAsync(string reference, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var set = await RunSubmitter.FindQuestionSetAsync(db, reference.Trim(), cancellationToken);
        if (set is null) return null;
        return await LoadContentAsync(db, set.Id, cancellationToken);
    }

    /// <summary>
    /// Writes a set in the original layout (<see cref="BenchmarkFormat.Write"/>), so questions generated here can be
    /// run elsewhere, or imported into another database. Personas whose questions are incomplete are left out and
    /// listed in the result.
    /// </summary>
    /// <exception cref="QuestionSetException">No such set, nothing to write, or the folder holds other personas' files.</exception>
    public async Task<QuestionSetExport> ExportAsync(string reference, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var content = await LoadAsync(reference, cancellationToken)
            ?? throw new QuestionSetException($"no question set '{reference}'", []);
        if (content.Personas.Count == 0)
            throw new QuestionSetException($"the question set {content.Set.Reference} has no persona with complete questions", content.Incomplete);

        try
        {
            BenchmarkFormat.Write(directory, content.Personas, content.Environments);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new QuestionSetException($"cannot write {directory}: {ex.Message}", []);
        }

        return new QuestionSetExport(content.Set, directory, content.Personas.Count,
            content.Personas.Sum(p => p.Questions.Values.Sum(q => q.Count)), content.Environments is not null, content.Incomplete);
    }

    /// <summary>
    /// Names a run's generated questions and freezes them, so later runs can ask exactly these questions with
    /// <c>--question-set name@version</c> and no question calls. Refused when the run used a stored set already, when
    /// the name and version are taken, or when any persona of the run lacks questions for a task.
    /// </summary>
    /// <exception cref="QuestionSetException">The set cannot be frozen; the details say why, persona by persona.</exception>
    public async Task<QuestionSetSummary> FreezeAsync(Guid runId, string name, string version, CancellationToken cancellationToken = default)
    {
        try
        {
            CheckReference(name, version);
        }
        catch (ArgumentException ex)
        {
            throw new QuestionSetException(ex.Message, []);
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.AsNoTracking().Include(r => r.QuestionSet).FirstOrDefaultAsync(r => r.Id == runId, cancellationToken)
            ?? throw new QuestionSetException($"no run with id {runId}", []);
        var set = run.QuestionSet;
        if (set.Source == QuestionSetSource.Imported || set.Frozen)
            throw new QuestionSetException($"run '{run.Name}' asked the stored question set {set.Name}@{set.Version}, which is frozen already; run it again with --question-set {set.Name}@{set.Version}", []);
        if (await db.QuestionSets.AnyAsync(s => s.Name == name && s.Version == version, cancellationToken))
            throw new QuestionSetException($"a question set {name}@{version} exists already; choose another name or --version", []);

        var problems = await IncompleteAsync(db, run, cancellationToken);
        if (problems.Count > 0)
            throw new QuestionSetException($"run '{run.Name}' has no complete question set yet (resume it first: personagym resume {run.Id})", problems);

        var now = time.GetUtcNow();
        try
        {
            await db.QuestionSets.Where(s => s.Id == set.Id).ExecuteUpdateAsync(s => s
                .SetProperty(q => q.Name, name)
                .SetProperty(q => q.Version, version)
                .SetProperty(q => q.Frozen, true)
                .SetProperty(q => q.Description, $"Generated for run '{run.Name}' ({run.Id}) by {run.QuestionWriterSpec}; frozen {now:yyyy-MM-dd HH:mm} UTC"),
                cancellationToken);
        }
        catch (DbUpdateException ex) when (DbExceptions.IsUniqueViolation(ex))
        {
            throw new QuestionSetException($"a question set {name}@{version} exists already; choose another name or --version", []);
        }

        return (await FindAsync($"{name}@{version}", cancellationToken))!;
    }

    /// <summary>A name and version a set can be stored and named under (<c>name@version</c> on the command line).</summary>
    /// <exception cref="ArgumentException">Empty, too long, or holding '@' or white space at either end.</exception>
    /// <summary>
    /// The environments a stored set's personas were written in, in first-seen order: the pool a generating run may
    /// select from (the PersonaGym benchmark records the paper's 150 settings for each of its personas).
    /// </summary>
    public static async Task<IReadOnlyList<string>> EnvironmentPoolAsync(PersonaGymDbContext db, Guid questionSetId, CancellationToken cancellationToken)
    {
        var lists = await db.QuestionSetPersonas.AsNoTracking().Where(p => p.QuestionSetId == questionSetId)
            .OrderBy(p => p.UpdatedAt).ThenBy(p => p.Id).Select(p => p.Environments).ToListAsync(cancellationToken);
        return lists.SelectMany(l => l).Select(e => e.Trim()).Where(e => e.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    public static void CheckReference(string name, string version)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("the question set's name is empty");
        if (string.IsNullOrWhiteSpace(version)) throw new ArgumentException("the question set's version is empty");
        if (name != name.Trim() || version != version.Trim()) throw new ArgumentException("a question set's name and version cannot start or end with white space");
        // "name@version" is how runs name a set: an '@' inside either part would make that ambiguous.
        if (name.Contains('@') || version.Contains('@')) throw new ArgumentException($"a question set's name and version cannot hold '@' ({name}@{version})");
        if (name.Length > 400) throw new ArgumentException("the question set's name is longer than 400 characters");
        if (version.Length > 100) throw new ArgumentException("the question set's version is longer than 100 characters");
    }

    private static async Task<List<string>> IncompleteAsync(PersonaGymDbContext db, Run run, CancellationToken cancellationToken)
    {
        var runPersonas = await db.RunPersonas.AsNoTracking().Where(p => p.RunId == run.Id)
            .Select(p => new { p.PersonaId, p.Persona.Text }).ToListAsync(cancellationToken);
        var entries = await db.QuestionSetPersonas.AsNoTracking().Where(s => s.QuestionSetId == run.QuestionSetId)
            .Select(s => new { s.Id, s.PersonaId, s.Status }).ToListAsync(cancellationToken);
        // Flat and distinct: a collection projection per row would need SQL APPLY, which SQLite lacks.
        var tasks = (await db.Questions.AsNoTracking().Where(q => q.QuestionSetPersona.QuestionSetId == run.QuestionSetId)
                .Select(q => new { q.QuestionSetPersonaId, q.Task }).Distinct().ToListAsync(cancellationToken))
            .ToLookup(q => q.QuestionSetPersonaId, q => q.Task);

        var problems = new List<string>();
        foreach (var persona in runPersonas.OrderBy(p => p.Text, StringComparer.Ordinal))
        {
            var entry = entries.FirstOrDefault(e => e.PersonaId == persona.PersonaId);
            if (entry is null || entry.Status != QuestionSetPersonaStatus.Ready)
            {
                problems.Add($"\"{Shorten(persona.Text)}\": no questions yet");
                continue;
            }

            var missing = PersonaTasks.All.Where(t => !tasks[entry.Id].Contains(t)).ToList();
            if (missing.Count > 0)
                problems.Add($"\"{Shorten(persona.Text)}\": no questions for {string.Join(", ", missing.Select(t => t.DisplayName()))}");
        }

        return problems;
    }

    private static async Task<QuestionSetContent> LoadContentAsync(PersonaGymDbContext db, Guid setId, CancellationToken cancellationToken)
    {
        var set = await db.QuestionSets.AsNoTracking().FirstAsync(s => s.Id == setId, cancellationToken);
        var entries = await db.QuestionSetPersonas.AsNoTracking().Where(s => s.QuestionSetId == setId)
            .OrderBy(s => s.UpdatedAt).ThenBy(s => s.Id)
            .Select(s => new { s.Id, s.Persona.Text, s.Status, s.Environments })
            .ToListAsync(cancellationToken);
        var questions = await db.Questions.AsNoTracking().Where(q => q.QuestionSetPersona.QuestionSetId == setId)
            .Select(q => new { q.QuestionSetPersonaId, q.Task, q.Ordinal, q.Text })
            .ToListAsync(cancellationToken);
        var byEntry = questions.ToLookup(q => q.QuestionSetPersonaId);

        var personas = new List<BenchmarkPersona>();
        var incomplete = new List<string>();
        var environments = new List<string>();
        var seenEnvironments = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var perTask = PersonaTasks.All.ToDictionary(
                t => t,
                t => (IReadOnlyList<string>)byEntry[entry.Id].Where(q => q.Task == t).OrderBy(q => q.Ordinal).Select(q => q.Text).ToList());
            if (entry.Status != QuestionSetPersonaStatus.Ready || perTask.Values.Any(q => q.Count == 0))
            {
                incomplete.Add($"\"{Shorten(entry.Text)}\": questions incomplete ({entry.Status})");
                continue;
            }

            personas.Add(new BenchmarkPersona(entry.Text, perTask));
            foreach (var environment in entry.Environments.Where(seenEnvironments.Add)) environments.Add(environment);
        }

        var questionCount = personas.Sum(p => p.Questions.Values.Sum(q => q.Count));
        return new QuestionSetContent(Summary(set, personas.Count, questionCount), personas, environments.Count > 0 ? environments : null, incomplete);
    }

    /// <summary>Same personas in the same order, same questions per task in the same order, same environments.</summary>
    private static bool SameContent(QuestionSetContent stored, BenchmarkReadResult benchmark)
    {
        if (stored.Incomplete.Count > 0 || stored.Personas.Count != benchmark.Personas.Count) return false;
        if (!(stored.Environments ?? []).SequenceEqual(benchmark.Environments ?? [], StringComparer.Ordinal)) return false;
        for (var i = 0; i < stored.Personas.Count; i++)
        {
            var (a, b) = (stored.Personas[i], benchmark.Personas[i]);
            if (a.Persona != Personas.Normalize(b.Persona)) return false;
            if (PersonaTasks.All.Any(t => !a.Questions[t].SequenceEqual(b.Questions[t], StringComparer.Ordinal))) return false;
        }

        return true;
    }

    private static QuestionSetSummary Summary(QuestionSet set, int personas, int questions) =>
        new(set.Id, set.Name, set.Version, set.Source, set.Frozen, set.CreatedAt, set.Description, personas, questions);

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
