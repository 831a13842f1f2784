using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Time.Testing;

namespace PersonaGym.Data.Tests;

public abstract class CacheTests : DatabaseTest
{
    private readonly FakeTimeProvider _time = new(TestRun.Start);

    private EfDistributedCache NewCache() => new(new ContextFactory(Connection), _time);

    [Fact]
    public async Task A_stored_value_reads_back()
    {
        var cache = NewCache();
        await cache.SetAsync("key-1", "hello"u8.ToArray(), new DistributedCacheEntryOptions());
        Assert.Equal("hello"u8.ToArray(), await cache.GetAsync("key-1"));
        Assert.Equal("hello"u8.ToArray(), cache.Get("key-1"));
    }

    [Fact]
    public async Task An_unknown_key_reads_as_null()
    {
        Assert.Null(await NewCache().GetAsync("never-stored"));
    }

    [Fact]
    public async Task Setting_a_key_again_replaces_its_value()
    {
        var cache = NewCache();
        await cache.SetAsync("key", "one"u8.ToArray(), new DistributedCacheEntryOptions());
        cache.Set("key", "two"u8.ToArray(), new DistributedCacheEntryOptions());
        Assert.Equal("two"u8.ToArray(), await cache.GetAsync("key"));
    }

    [Fact]
    public async Task A_removed_key_reads_as_null()
    {
        var cache = NewCache();
        await cache.SetAsync("key", "one"u8.ToArray(), new DistributedCacheEntryOptions());
        await cache.RemoveAsync("key");
        Assert.Null(await cache.GetAsync("key"));
    }

    [Fact]
    public async Task Concurrent_sets_of_one_key_all_succeed_and_one_value_wins()
    {
        var values = Enumerable.Range(0, 16).Select(i => Encoding.UTF8.GetBytes($"value-{i}")).ToList();
        var cache = NewCache();
        await Task.WhenAll(values.Select(value => Task.Run(() => cache.SetAsync("contended", value, new DistributedCacheEntryOptions()))));

        var stored = await cache.GetAsync("contended");
        Assert.Contains(values, value => value.SequenceEqual(stored!));
        await using var db = NewContext();
        Assert.Equal(1, await db.CacheEntries.CountAsync());
    }

    [Fact]
    public async Task An_entry_past_its_absolute_expiration_reads_as_null()
    {
        var cache = NewCache();
        await cache.SetAsync("key", "v"u8.ToArray(), new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(5) });
        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.NotNull(await cache.GetAsync("key"));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await cache.GetAsync("key"));
    }

    [Fact]
    public async Task Reading_an_entry_with_sliding_expiration_keeps_it_alive()
    {
        var cache = NewCache();
        await cache.SetAsync("key", "v"u8.ToArray(), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(10) });
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(8));
            Assert.NotNull(await cache.GetAsync("key"));
        }
        await cache.RefreshAsync("key");
        _time.Advance(TimeSpan.FromMinutes(11));
        Assert.Null(await cache.GetAsync("key"));
    }

    [Fact]
    public async Task Removing_expired_entries_keeps_live_ones()
    {
        var cache = NewCache();
        await cache.SetAsync("short", "v"u8.ToArray(), new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });
        await cache.SetAsync("forever", "v"u8.ToArray(), new DistributedCacheEntryOptions());
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await cache.RemoveExpiredAsync());
        Assert.NotNull(await cache.GetAsync("forever"));
    }

    [Fact]
    public async Task A_key_longer_than_the_key_column_is_stored_under_its_hash()
    {
        var longKey = new string('k', 5000);
        var cache = NewCache();
        await cache.SetAsync(longKey, "v"u8.ToArray(), new DistributedCacheEntryOptions());
        Assert.Equal("v"u8.ToArray(), await cache.GetAsync(longKey));
        await using var db = NewContext();
        Assert.StartsWith("sha256:", await db.CacheEntries.Select(e => e.Key).SingleAsync());
    }

    private sealed class ContextFactory(DatabaseConnection connection) : IDbContextFactory<PersonaGymDbContext>
    {
        public PersonaGymDbContext CreateDbContext() => PersonaGymDatabase.CreateDbContext(connection);
    }
}
