using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using PersonaGym.Core;

namespace PersonaGym.Data;

/// <summary>
/// The PersonaGym model, written once for every provider. Each provider has its own subclass
/// (<see cref="PostgresPersonaGymDbContext"/>, <see cref="SqlitePersonaGymDbContext"/>) because EF Core keeps one
/// migration set per context type; code that only reads and writes data depends on this base type.
/// </summary>
public abstract class PersonaGymDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Run> Runs => Set<Run>();
    public DbSet<RunModel> RunModels => Set<RunModel>();
    public DbSet<Persona> Personas => Set<Persona>();
    public DbSet<QuestionSet> QuestionSets => Set<QuestionSet>();
    public DbSet<QuestionSetPersona> QuestionSetPersonas => Set<QuestionSetPersona>();
    public DbSet<QuestionBatch> QuestionBatches => Set<QuestionBatch>();
    public DbSet<Question> Questions => Set<Question>();
    public DbSet<RunPersona> RunPersonas => Set<RunPersona>();
    public DbSet<BatchWork> BatchWork => Set<BatchWork>();
    public DbSet<Answer> Answers => Set<Answer>();
    public DbSet<Exemplar> Exemplars => Set<Exemplar>();
    public DbSet<ExemplarClaim> ExemplarClaims => Set<ExemplarClaim>();
    public DbSet<Judgement> Judgements => Set<Judgement>();
    public DbSet<LlmCall> LlmCalls => Set<LlmCall>();
    public DbSet<CacheEntry> CacheEntries => Set<CacheEntry>();
    public DbSet<ModelConcurrencyReport> ModelConcurrencyReports => Set<ModelConcurrencyReport>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<HumanRating> HumanRatings => Set<HumanRating>();
    public DbSet<RaterName> RaterNames => Set<RaterName>();
    public DbSet<ReferenceScore> ReferenceScores => Set<ReferenceScore>();
    public DbSet<StoredRunReport> RunReports => Set<StoredRunReport>();

    /// <summary>Model specs, names and versions are short; the limit keeps their unique indexes within btree limits.</summary>
    internal const int ShortText = 400;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Enums by name: stored rows keep their meaning if members are reordered, and tables read well.
        StoreAsString<PersonaTask>(configurationBuilder);
        StoreAsString<RunStatus>(configurationBuilder);
        StoreAsString<RunModelRole>(configurationBuilder);
        StoreAsString<QuestionSetSource>(configurationBuilder);
        StoreAsString<QuestionSetPersonaStatus>(configurationBuilder);
        StoreAsString<QuestionSource>(configurationBuilder);
        StoreAsString<RunPersonaStatus>(configurationBuilder);
        StoreAsString<BatchStage>(configurationBuilder);
        StoreAsString<LlmCallStage>(configurationBuilder);
        StoreAsString<ApiKeyRole>(configurationBuilder);

        // Ticks map the same way on every provider (Postgres' interval and SQLite's text would not).
        configurationBuilder.Properties<TimeSpan>().HaveConversion<long>();
    }

    private static void StoreAsString<TEnum>(ModelConfigurationBuilder builder) where TEnum : struct, Enum =>
        builder.Properties<TEnum>().HaveConversion<string>().HaveMaxLength(40);

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Run>(run =>
        {
            ClientGeneratedId(run);
            run.Property(r => r.Name).HasMaxLength(ShortText);
            run.Property(r => r.EnvironmentsMode).HasMaxLength(4000);
            run.Property(r => r.QuestionWriterSpec).HasMaxLength(ShortText);
            run.Property(r => r.ExemplarWriterSpec).HasMaxLength(ShortText);
            run.Property(r => r.Stall).HasMaxLength(4000);
            run.HasOne(r => r.QuestionSet).WithMany().HasForeignKey(r => r.QuestionSetId).OnDelete(DeleteBehavior.Restrict);
            run.HasIndex(r => r.CreatedAt);
            run.ToTable(t =>
            {
                t.HasCheckConstraint("CK_Runs_BatchSize", "\"BatchSize\" >= 1");
                t.HasCheckConstraint("CK_Runs_QuestionsPerTask", "\"QuestionsPerTask\" >= 1");
            });
        });

        modelBuilder.Entity<RunModel>(model =>
        {
            ClientGeneratedId(model);
            model.Property(m => m.Spec).HasMaxLength(ShortText);
            model.HasOne(m => m.Run).WithMany(r => r.Models).HasForeignKey(m => m.RunId).OnDelete(DeleteBehavior.Cascade);
            model.HasIndex(m => new { m.RunId, m.Role, m.Spec }).IsUnique();
        });

        modelBuilder.Entity<Persona>(persona =>
        {
            ClientGeneratedId(persona);
            persona.Property(p => p.TextHash).HasMaxLength(64).IsFixedLength(false);
            persona.HasIndex(p => p.TextHash).IsUnique();
        });

        modelBuilder.Entity<QuestionSet>(set =>
        {
            ClientGeneratedId(set);
            set.Property(s => s.Name).HasMaxLength(ShortText);
            set.Property(s => s.Version).HasMaxLength(100);
            set.HasIndex(s => new { s.Name, s.Version }).IsUnique();
        });

        modelBuilder.Entity<QuestionSetPersona>(entry =>
        {
            ClientGeneratedId(entry);
            entry.HasOne(e => e.QuestionSet).WithMany(s => s.Personas).HasForeignKey(e => e.QuestionSetId).OnDelete(DeleteBehavior.Cascade);
            entry.HasOne(e => e.Persona).WithMany().HasForeignKey(e => e.PersonaId).OnDelete(DeleteBehavior.Restrict);
            entry.HasIndex(e => new { e.QuestionSetId, e.PersonaId }).IsUnique();
        });

        modelBuilder.Entity<QuestionBatch>(batch =>
        {
            ClientGeneratedId(batch);
            batch.HasOne(b => b.QuestionSetPersona).WithMany(p => p.Batches).HasForeignKey(b => b.QuestionSetPersonaId).OnDelete(DeleteBehavior.Cascade);
            batch.HasIndex(b => new { b.QuestionSetPersonaId, b.Task, b.BatchIndex }).IsUnique();
        });

        modelBuilder.Entity<Question>(question =>
        {
            ClientGeneratedId(question);
            question.HasOne(q => q.QuestionSetPersona).WithMany(p => p.Questions).HasForeignKey(q => q.QuestionSetPersonaId).OnDelete(DeleteBehavior.Cascade);
            question.HasOne(q => q.Batch).WithMany(b => b.Questions).HasForeignKey(q => q.BatchId).OnDelete(DeleteBehavior.Cascade);
            question.HasIndex(q => new { q.QuestionSetPersonaId, q.Task, q.Ordinal }).IsUnique();
        });

        modelBuilder.Entity<HumanRating>(rating =>
        {
            ClientGeneratedId(rating);
            rating.Property(r => r.Rater).HasMaxLength(HumanRating.MaxRaterLength);
            rating.HasOne(r => r.Run).WithMany().HasForeignKey(r => r.RunId).OnDelete(DeleteBehavior.Cascade);
            rating.HasOne(r => r.Answer).WithMany().HasForeignKey(r => r.AnswerId).OnDelete(DeleteBehavior.Cascade);
            rating.HasIndex(r => new { r.AnswerId, r.Rater }).IsUnique();
            rating.HasIndex(r => new { r.RunId, r.Rater });
            rating.ToTable(t => t.HasCheckConstraint("CK_HumanRatings_Score", "\"Score\" >= 1 AND \"Score\" <= 5"));
        });

        modelBuilder.Entity<RaterName>(name =>
        {
            name.HasKey(n => n.Name);
            name.Property(n => n.Name).HasMaxLength(HumanRating.MaxRaterLength);
            name.Property(n => n.Principal).HasMaxLength(RaterName.MaxPrincipalLength);
        });

        modelBuilder.Entity<ReferenceScore>(score =>
        {
            ClientGeneratedId(score);
            score.Property(s => s.Model).HasMaxLength(ShortText);
            score.Property(s => s.Metric).HasMaxLength(100);
            score.HasOne(s => s.QuestionSet).WithMany().HasForeignKey(s => s.QuestionSetId).OnDelete(DeleteBehavior.Cascade);
            score.HasIndex(s => new { s.QuestionSetId, s.Model, s.Metric }).IsUnique();
        });

        modelBuilder.Entity<RunPersona>(persona =>
        {
            ClientGeneratedId(persona);
            persona.HasOne(p => p.Run).WithMany(r => r.Personas).HasForeignKey(p => p.RunId).OnDelete(DeleteBehavior.Cascade);
            persona.HasOne(p => p.Persona).WithMany().HasForeignKey(p => p.PersonaId).OnDelete(DeleteBehavior.Restrict);
            persona.HasOne(p => p.QuestionSetPersona).WithMany().HasForeignKey(p => p.QuestionSetPersonaId).OnDelete(DeleteBehavior.Restrict);
            persona.HasIndex(p => new { p.RunId, p.PersonaId }).IsUnique();
        });

        modelBuilder.Entity<BatchWork>(work =>
        {
            ClientGeneratedId(work);
            work.HasOne(w => w.Run).WithMany().HasForeignKey(w => w.RunId).OnDelete(DeleteBehavior.Cascade);
            work.HasOne(w => w.RunPersona).WithMany().HasForeignKey(w => w.RunPersonaId).OnDelete(DeleteBehavior.Cascade);
            work.HasOne(w => w.Batch).WithMany().HasForeignKey(w => w.BatchId).OnDelete(DeleteBehavior.Restrict);
            work.HasOne(w => w.Agent).WithMany().HasForeignKey(w => w.AgentId).OnDelete(DeleteBehavior.Cascade);
            work.HasIndex(w => new { w.BatchId, w.AgentId }).IsUnique();
            work.HasIndex(w => new { w.RunId, w.Stage });
            // The sweeper's question: which unfinished batches made no progress since a cut-off?
            work.HasIndex(w => new { w.Stage, w.LastProgressAt });
        });

        modelBuilder.Entity<Answer>(answer =>
        {
            ClientGeneratedId(answer);
            answer.HasOne(a => a.Run).WithMany().HasForeignKey(a => a.RunId).OnDelete(DeleteBehavior.Cascade);
            answer.HasOne(a => a.Question).WithMany().HasForeignKey(a => a.QuestionId).OnDelete(DeleteBehavior.Restrict);
            answer.HasOne(a => a.Agent).WithMany().HasForeignKey(a => a.AgentId).OnDelete(DeleteBehavior.Cascade);
            answer.HasIndex(a => new { a.AgentId, a.QuestionId }).IsUnique();
        });

        modelBuilder.Entity<Exemplar>(exemplar =>
        {
            ClientGeneratedId(exemplar);
            exemplar.Property(e => e.WriterSpec).HasMaxLength(ShortText);
            exemplar.Property(e => e.RubricVersion).HasMaxLength(100);
            exemplar.HasOne(e => e.Question).WithMany().HasForeignKey(e => e.QuestionId).OnDelete(DeleteBehavior.Cascade);
            exemplar.HasIndex(e => new { e.QuestionId, e.WriterSpec, e.RubricVersion, e.Score }).IsUnique();
            exemplar.ToTable(t => t.HasCheckConstraint("CK_Exemplars_Score", "\"Score\" BETWEEN 1 AND 5"));
        });

        modelBuilder.Entity<ExemplarClaim>(claim =>
        {
            ClientGeneratedId(claim);
            claim.Property(c => c.WriterSpec).HasMaxLength(ShortText);
            claim.Property(c => c.RubricVersion).HasMaxLength(100);
            claim.HasOne(c => c.Batch).WithMany().HasForeignKey(c => c.BatchId).OnDelete(DeleteBehavior.Cascade);
            claim.HasIndex(c => new { c.BatchId, c.WriterSpec, c.RubricVersion }).IsUnique();
        });

        modelBuilder.Entity<Judgement>(judgement =>
        {
            ClientGeneratedId(judgement);
            judgement.Property(j => j.RubricVersion).HasMaxLength(100);
            judgement.HasOne(j => j.Run).WithMany().HasForeignKey(j => j.RunId).OnDelete(DeleteBehavior.Cascade);
            judgement.HasOne(j => j.Answer).WithMany().HasForeignKey(j => j.AnswerId).OnDelete(DeleteBehavior.Cascade);
            judgement.HasOne(j => j.Judge).WithMany().HasForeignKey(j => j.JudgeId).OnDelete(DeleteBehavior.Cascade);
            judgement.HasIndex(j => new { j.AnswerId, j.JudgeId }).IsUnique();
            judgement.ToTable(t => t.HasCheckConstraint("CK_Judgements_Score", "\"Score\" IS NULL OR \"Score\" BETWEEN 1 AND 5"));
        });

        modelBuilder.Entity<LlmCall>(call =>
        {
            ClientGeneratedId(call);
            call.Property(c => c.Model).HasMaxLength(ShortText);
            // Usage is kept when a run is deleted: it was paid for.
            call.HasOne<Run>().WithMany().HasForeignKey(c => c.RunId).OnDelete(DeleteBehavior.SetNull);
            call.HasIndex(c => new { c.RunId, c.Stage });
            call.HasIndex(c => c.At);
        });

        modelBuilder.Entity<StoredRunReport>(report =>
        {
            report.ToTable("RunReports");
            report.HasKey(r => new { r.RunId, r.IncludeIncomplete });
            report.Property(r => r.Fingerprint).HasMaxLength(64);
            report.HasOne<Run>().WithMany().HasForeignKey(r => r.RunId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<CacheEntry>(entry =>
        {
            entry.HasKey(e => e.Key);
            entry.Property(e => e.Key).HasMaxLength(EfDistributedCache.MaxStoredKeyLength);
            entry.HasIndex(e => e.ExpiresAt);
        });

        modelBuilder.Entity<ModelConcurrencyReport>(report =>
        {
            report.HasKey(r => new { r.Model, r.Process });
            report.Property(r => r.Model).HasMaxLength(ShortText);
            report.Property(r => r.Process).HasMaxLength(ShortText);
        });

        modelBuilder.Entity<ApiKey>(key =>
        {
            ClientGeneratedId(key);
            key.Property(k => k.Name).HasMaxLength(ApiKeyStore.MaxNameLength);
            key.Property(k => k.Prefix).HasMaxLength(ApiKeyStore.DisplayPrefixLength);
            key.Property(k => k.Hash).HasMaxLength(64);
            // Authentication looks a key up by its hash on every request.
            key.HasIndex(k => k.Hash).IsUnique();
        });
    }

    // Ids are Guid v7, made by the client: a row's id is known before it is saved (messages carry ids) and
    // v7 ids are time-ordered, which keeps btree inserts local.
    private static void ClientGeneratedId<T>(EntityTypeBuilder<T> entity) where T : class =>
        entity.Property<Guid>("Id").ValueGeneratedNever();
}
