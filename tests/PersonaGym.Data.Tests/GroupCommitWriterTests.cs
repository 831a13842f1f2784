using Microsoft.EntityFrameworkCore;
using PersonaGym.Testing;

namespace PersonaGym.Data.Tests;

public abstract class GroupCommitWriterTests : DatabaseTest
{
    private GroupCommitWriter NewWriter() => new(new ContextFactory(Connection));

    private static LlmCall Call(string model, Guid? id = null) => new()
    {
        Id = id ?? Guid.CreateVersion7(),
        Model = model,
        Succeeded = true,
        At = TestRun.Start,
    };

    [Fact]
    public async Task Every_row_of_many_concurrent_writers_is_stored_once_its_task_completes()
    {
        var writer = NewWriter();
        await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Task.Run(() => writer.AddAsync(Call($"model-{i}"), duplicateIsDone: false))));

        await using var db = NewContext();
        Assert.Equal(300, await db.LlmCalls.CountAsync());
        Assert.Equal(300, await db.LlmCalls.Select(c => c.Model).Distinct().CountAsync());
    }

    [Fact]
    public async Task A_duplicate_in_a_shared_commit_fails_only_its_own_writer_and_the_others_are_stored()
    {
        var writer = NewWriter();
        var id = Guid.CreateVersion7();
        await writer.AddAsync(Call("first", id), duplicateIsDone: false);

        var writes = Enumerable.Range(0, 20).Select(i => writer.AddAsync(Call($"other-{i}"), duplicateIsDone: false))
            .Append(writer.AddAsync(Call("again", id), duplicateIsDone: false))
            .ToList();
        var failures = 0;
        foreach (var write in writes)
        {
            try
            {
                await write;
            }
            catch (DbUpdateException ex) when (DbExceptions.IsUniqueViolation(ex))
            {
                failures++;
            }
        }

        Assert.Equal(1, failures);
        await using var db = NewContext();
        Assert.Equal(21, await db.LlmCalls.CountAsync());
        Assert.Equal("first", await db.LlmCalls.Where(c => c.Id == id).Select(c => c.Model).SingleAsync());
    }

    [Fact]
    public async Task A_duplicate_added_as_done_counts_as_stored_and_keeps_the_first_row()
    {
        var writer = NewWriter();
        var id = Guid.CreateVersion7();
        await writer.AddAsync(Call("first", id), duplicateIsDone: true);
        await Task.WhenAll(writer.AddAsync(Call("second", id), duplicateIsDone: true), writer.AddAsync(Call("unrelated"), duplicateIsDone: true));

        await using var db = NewContext();
        Assert.Equal("first", await db.LlmCalls.Where(c => c.Id == id).Select(c => c.Model).SingleAsync());
        Assert.Equal(2, await db.LlmCalls.CountAsync());
    }

    [Fact]
    public async Task Cache_entries_of_one_commit_insert_new_keys_and_overwrite_stored_ones()
    {
        var writer = NewWriter();
        await writer.UpsertAsync(Entry("kept", "old"));
        await Task.WhenAll(
            writer.UpsertAsync(Entry("kept", "new")),
            writer.UpsertAsync(Entry("fresh", "value")),
            writer.AddAsync(Call("with-the-entries"), duplicateIsDone: false));

        await using var db = NewContext();
        var entries = await db.CacheEntries.ToDictionaryAsync(e => e.Key, e => System.Text.Encoding.UTF8.GetString(e.Value));
        Assert.Equal(new Dictionary<string, string> { ["kept"] = "new", ["fresh"] = "value" }, entries);
        Assert.Equal(1, await db.LlmCalls.CountAsync());
    }

    private static CacheEntry Entry(string key, string value) => new()
    {
        Key = key,
        Value = System.Text.Encoding.UTF8.GetBytes(value),
        CreatedAt = TestRun.Start,
        ExpiresAt = TestRun.Start.AddDays(1),
        AbsoluteExpiresAt = TestRun.Start.AddDays(1),
    };

    private sealed class ContextFactory(DatabaseConnection connection) : IDbContextFactory<PersonaGymDbContext>
    {
        public PersonaGymDbContext CreateDbContext() => PersonaGymDatabase.CreateDbContext(connection);
    }
}

[Collection(PostgresServer.Collection)]
public sealed class PostgresGroupCommitWriterTests(PostgresServer server) : GroupCommitWriterTests
{
    protected override Task<DatabaseConnection> CreateDatabaseAsync() => Postgres.CreateAsync(server);
    public override Task DisposeAsync() => Postgres.ReleaseAsync(Connection);
}

public sealed class SqliteGroupCommitWriterTests : GroupCommitWriterTests, IDisposable
{
    private readonly SqliteTestDatabase _database = new();
    protected override Task<DatabaseConnection> CreateDatabaseAsync() => Task.FromResult(_database.Connection);
    public void Dispose() => _database.Dispose();
}
