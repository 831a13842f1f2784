using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;
using PersonaGym.Pipeline.Messaging;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>The response cache stays bounded: responses are stored with a lifetime, and the coordinating host deletes expired ones.</summary>
[Collection(PostgresServer.Collection)]
public sealed class ResponseCachePruningTests(PostgresServer postgres)
{
    [Fact]
    public async Task The_coordinating_host_deletes_expired_cache_entries_and_keeps_live_ones()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup
        {
            Stages = PipelineStages.Coordination,
            Settings = new Dictionary<string, string?> { ["PersonaGym:Pipeline:CachePruneInterval"] = "00:00:00.100" },
        });
        var now = DateTimeOffset.UtcNow;
        await using (var db = pipeline.NewContext())
        {
            db.CacheEntries.AddRange(
                new CacheEntry { Key = "expired", Value = [1], CreatedAt = now.AddDays(-31), ExpiresAt = now.AddMinutes(-1), AbsoluteExpiresAt = now.AddMinutes(-1) },
                new CacheEntry { Key = "live", Value = [2], CreatedAt = now, ExpiresAt = now.AddDays(30), AbsoluteExpiresAt = now.AddDays(30) },
                new CacheEntry { Key = "forever", Value = [3], CreatedAt = now });
            await db.SaveChangesAsync();
        }

        await Wait.UntilAsync(async () =>
        {
            await using var db = pipeline.NewContext();
            return !await db.CacheEntries.AnyAsync(e => e.Key == "expired");
        }, "the running host deleted the expired entry");

        await using var check = pipeline.NewContext();
        Assert.Equal(["forever", "live"], await check.CacheEntries.Select(e => e.Key).OrderBy(k => k).ToListAsync());
    }

    [Fact]
    public async Task Every_response_a_run_caches_expires_after_the_configured_lifetime()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup
        {
            Settings = new Dictionary<string, string?> { ["PersonaGym:Models:CacheLifetime"] = "7.00:00:00" },
        });
        var before = DateTimeOffset.UtcNow;

        var runId = await pipeline.SubmitAsync(TestRuns.Request(personas: 1, agents: 1, judges: 1, questionsPerTask: 1));
        await pipeline.WaitForRunAsync(runId);

        await using var db = pipeline.NewContext();
        var expiries = await db.CacheEntries.Select(e => e.ExpiresAt).ToListAsync();
        Assert.NotEmpty(expiries);
        Assert.All(expiries, at =>
        {
            Assert.NotNull(at);
            Assert.InRange(at!.Value, before.AddDays(7), DateTimeOffset.UtcNow.AddDays(7));
        });
    }
}
