using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>A run that generates questions can select its environments from a stored set's pool (the paper's 150 settings).</summary>
[Collection(PostgresServer.Collection)]
public sealed class EnvironmentPoolTests(PostgresServer postgres)
{
    private static readonly string[] Pool = ["Lunar Greenhouse", "Tram Depot", "Beekeepers' Fair", "Night Ferry", "Chess Club", "Harbour Market"];

    private static async Task StoreSetAsync(TestPipeline pipeline)
    {
        await using var db = pipeline.NewContext();
        var set = new QuestionSet { Name = "pool-set", Version = "v1", Source = QuestionSetSource.Imported, Frozen = true, CreatedAt = DateTimeOffset.UtcNow };
        var persona = Persona.FromDescription("A stored persona whose questions were imported", DateTimeOffset.UtcNow);
        db.QuestionSets.Add(set);
        db.Personas.Add(persona);
        db.QuestionSetPersonas.Add(new QuestionSetPersona
        {
            QuestionSetId = set.Id, PersonaId = persona.Id, Environments = [.. Pool], Status = QuestionSetPersonaStatus.Ready, UpdatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task Environments_are_selected_from_the_named_sets_pool()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync());
        await StoreSetAsync(pipeline);
        var request = TestRuns.Request(personas: 2, agents: 1, judges: 2, questionsPerTask: 2) with { EnvironmentPool = "pool-set" };

        var runId = await pipeline.SubmitAsync(request);
        await pipeline.WaitForRunAsync(runId);

        await using var db = pipeline.NewContext();
        var run = await db.Runs.AsNoTracking().FirstAsync(r => r.Id == runId);
        var chosen = await db.QuestionSetPersonas.AsNoTracking().Where(p => p.QuestionSetId == run.QuestionSetId).Select(p => p.Environments).ToListAsync();
        Assert.Equal(2, chosen.Count);
        Assert.All(chosen, environments =>
        {
            Assert.NotEmpty(environments);
            Assert.All(environments, e => Assert.Contains(e, Pool));
        });

        // The report says which pool the questions were written from.
        var report = await PersonaGym.Pipeline.Reports.RunReportBuilder.BuildAsync(db, runId);
        Assert.Equal("selected by the question writer from the pool of pool-set@v1 (6 settings)", report!.Environments);
    }

    [Fact]
    public async Task An_unknown_pool_or_a_pool_with_a_stored_question_set_is_refused_before_anything_is_stored()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync());
        await StoreSetAsync(pipeline);

        var unknown = await Assert.ThrowsAsync<RunRequestException>(() =>
            pipeline.Submitter.PlanAsync(TestRuns.Request() with { EnvironmentPool = "no-such-set" }));
        Assert.Contains(unknown.Problems, p => p.Contains("no question set named 'no-such-set' for the environment pool"));

        var withSet = await Assert.ThrowsAsync<RunRequestException>(() =>
            pipeline.Submitter.PlanAsync(TestRuns.Request() with { Personas = [], QuestionSet = "pool-set", EnvironmentPool = "pool-set" }));
        Assert.Contains(withSet.Problems, p => p.Contains("an environment pool is for runs that generate questions"));

        var outside = await Assert.ThrowsAsync<RunRequestException>(() =>
            pipeline.Submitter.PlanAsync(TestRuns.Request() with { EnvironmentPool = "pool-set", Environments = ["Courtroom"] }));
        Assert.Contains(outside.Problems, p => p.Contains("unknown environment 'Courtroom'"));

        await using var db = pipeline.NewContext();
        Assert.Equal(0, await db.Runs.CountAsync());
    }
}
