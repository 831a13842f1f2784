using Microsoft.EntityFrameworkCore;

namespace PersonaGym.Data.Tests;

public abstract class StorageTests : DatabaseTest
{
    [Fact]
    public async Task Migrations_bring_the_schema_level_with_the_model()
    {
        await using var db = NewContext();
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges());
    }

    [Fact]
    public async Task Migrating_an_up_to_date_database_changes_nothing()
    {
        // Also as the services' role, which may not change the schema (PostgresServiceRoleStorageTests).
        await PersonaGymDatabase.MigrateAsync(Connection);
        await using var db = NewContext();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
    }

    [Fact]
    public async Task A_stored_run_reads_back_with_its_models_and_times()
    {
        var run = new TestRun();
        await using (var db = NewContext())
        {
            run.AddTo(db);
            await db.SaveChangesAsync();
        }

        await using var reader = NewContext();
        var stored = await reader.Runs.Include(r => r.Models).SingleAsync(r => r.Id == run.Run.Id);
        Assert.Equal(TestRun.Start, stored.CreatedAt);
        Assert.Equal(4, stored.Models.Count);
        var environments = await reader.QuestionSetPersonas.Select(p => p.Environments).SingleAsync();
        Assert.Equal(["Harbor", "Storm"], environments);
    }

    [Fact]
    public async Task Enums_are_stored_by_name()
    {
        await using (var db = NewContext())
        {
            new TestRun().AddTo(db);
            await db.SaveChangesAsync();
        }

        await using var reader = NewContext();
        var statuses = await reader.Database.SqlQueryRaw<string>("SELECT \"Status\" AS \"Value\" FROM \"Runs\"").ToListAsync();
        var tasks = await reader.Database.SqlQueryRaw<string>("SELECT DISTINCT \"Task\" AS \"Value\" FROM \"Questions\"").ToListAsync();
        Assert.Equal(["Running"], statuses);
        Assert.Equal(["ExpectedAction", "ToxicityControl"], tasks.Order());
    }

    [Fact]
    public async Task Times_with_different_offsets_compare_and_order_by_the_instant()
    {
        var earlier = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.FromHours(5));  // 07:00 UTC
        var later = new DateTimeOffset(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);             // 09:00 UTC
        await using (var db = NewContext())
        {
            new TestRun("later", later, "Persona one").AddTo(db);
            new TestRun("earlier", earlier, "Persona two").AddTo(db);
            await db.SaveChangesAsync();
        }

        await using var reader = NewContext();
        var ordered = await reader.Runs.OrderBy(r => r.CreatedAt).Select(r => r.Name).ToListAsync();
        var cutoff = new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);
        var afterCutoff = await reader.Runs.Where(r => r.CreatedAt > cutoff).Select(r => r.Name).ToListAsync();
        Assert.Equal(["earlier", "later"], ordered);
        Assert.Equal(["later"], afterCutoff);
        Assert.Equal(earlier, await reader.Runs.Where(r => r.Name == "earlier").Select(r => r.CreatedAt).SingleAsync());
    }

    [Fact]
    public async Task A_second_persona_with_the_same_normalized_text_is_a_unique_violation()
    {
        await using (var db = NewContext())
        {
            db.Personas.Add(Persona.FromDescription("A  beekeeper\nfrom Crete", TestRun.Start));
            await db.SaveChangesAsync();
        }

        await using var second = NewContext();
        second.Personas.Add(Persona.FromDescription("A beekeeper from Crete ", TestRun.Start));
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => second.SaveChangesAsync());
        Assert.True(DbExceptions.IsUniqueViolation(error));
    }

    [Fact]
    public async Task A_second_answer_by_the_same_agent_to_the_same_question_is_a_unique_violation()
    {
        var run = await StoreRunAsync();
        await using var db = NewContext();
        db.Answers.Add(new Answer
        {
            RunId = run.Run.Id, QuestionId = run.Questions[0].Id, AgentId = run.AgentA.Id, Text = "again", CreatedAt = TestRun.Start,
        });
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.True(DbExceptions.IsUniqueViolation(error));
    }

    [Fact]
    public async Task A_second_judgement_by_the_same_judge_of_the_same_answer_is_a_unique_violation()
    {
        var run = await StoreRunAsync();
        await using var db = NewContext();
        db.Judgements.Add(new Judgement
        {
            RunId = run.Run.Id, AnswerId = run.Answers[0].Id, JudgeId = run.JudgeX.Id, Score = 3,
            RawText = "again", RubricVersion = "v1", CreatedAt = TestRun.Start,
        });
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.True(DbExceptions.IsUniqueViolation(error));
    }

    [Fact]
    public async Task A_second_work_row_for_the_same_batch_and_agent_is_a_unique_violation()
    {
        var run = await StoreRunAsync();
        await using var db = NewContext();
        db.BatchWork.Add(new BatchWork
        {
            RunId = run.Run.Id, RunPersonaId = run.RunPersona.Id, BatchId = run.Batches[0].Id, AgentId = run.AgentA.Id,
            LastProgressAt = TestRun.Start,
        });
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.True(DbExceptions.IsUniqueViolation(error));
    }

    [Fact]
    public async Task A_second_exemplar_for_the_same_question_writer_rubric_and_score_is_a_unique_violation()
    {
        var run = await StoreRunAsync();
        await using (var db = NewContext())
        {
            db.Exemplars.Add(NewExemplar(run.Questions[0].Id, score: 4));
            await db.SaveChangesAsync();
        }

        await using var second = NewContext();
        second.Exemplars.Add(NewExemplar(run.Questions[0].Id, score: 4));
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => second.SaveChangesAsync());
        Assert.True(DbExceptions.IsUniqueViolation(error));
    }

    [Fact]
    public async Task A_missing_parent_row_is_not_mistaken_for_a_unique_violation()
    {
        await using var db = NewContext();
        db.Exemplars.Add(NewExemplar(Guid.CreateVersion7(), score: 3));
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.False(DbExceptions.IsUniqueViolation(error));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    public async Task A_judgement_score_outside_one_to_five_is_rejected(int score)
    {
        var run = await StoreRunAsync();
        await using var db = NewContext();
        db.Judgements.Add(new Judgement
        {
            RunId = run.Run.Id, AnswerId = run.Answers[0].Id, JudgeId = run.JudgeY.Id, Score = score,
            RawText = "x", RubricVersion = "v2", CreatedAt = TestRun.Start,
        });
        // The seeded run already holds (answer 0, judge Y); use a fresh judge so only the score can be at fault.
        var judge = new RunModel { RunId = run.Run.Id, Role = RunModelRole.Judge, Spec = "offline:judge-z", Ordinal = 2 };
        db.RunModels.Add(judge);
        db.Judgements.Local.Single().JudgeId = judge.Id;
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.False(DbExceptions.IsUniqueViolation(error));
    }

    [Fact]
    public async Task Persona_hash_is_the_sha256_of_the_normalized_text()
    {
        var persona = Persona.FromDescription("  A  chess coach\tin Lagos ", TestRun.Start);
        Assert.Equal("A chess coach in Lagos", persona.Text);
        Assert.Equal(64, persona.TextHash.Length);
        Assert.Equal(Persona.HashOf("A chess coach in Lagos"), persona.TextHash);
        await using var db = NewContext();
        db.Personas.Add(persona);
        await db.SaveChangesAsync();
        Assert.Equal(persona.Id, await db.Personas.Where(p => p.TextHash == Persona.HashOf("A chess coach  in Lagos")).Select(p => p.Id).SingleAsync());
    }

    private async Task<TestRun> StoreRunAsync()
    {
        var run = new TestRun();
        await using var db = NewContext();
        run.AddTo(db);
        await db.SaveChangesAsync();
        return run;
    }

    private static Exemplar NewExemplar(Guid questionId, int score) => new()
    {
        QuestionId = questionId, WriterSpec = "offline:writer", RubricVersion = "v1", Score = score,
        Text = "An example answer.", CreatedAt = TestRun.Start,
    };
}
