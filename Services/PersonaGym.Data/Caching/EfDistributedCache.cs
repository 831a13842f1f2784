using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Distributed;

namespace PersonaGym.Data;

/// <summary>
/// An <see cref="IDistributedCache"/> stored in the <see cref="CacheEntry"/> table, so cached LLM responses
/// survive restarts and are shared by every worker: a re-run or resumed run pays for nothing twice.
/// Concurrent writers of one key never fail; the last write wins, as with any cache.
/// </summary>
public sealed class EfDistributedCache(
    IDbContextFactory<PersonaGymDbContext> contexts, TimeProvider? timeProvider = null, GroupCommitWriter? writer = null)
    : IDistributedCache
{
    /// <summary>Keys up to this length are stored as given; longer keys are stored as <c>sha256:</c> + their hash.</summary>
    public const int MaxStoredKeyLength = 200;

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    // Entries written at the same time (one per model call) share a commit.
    private readonly GroupCommitWriter _writer = writer ?? new GroupCommitWriter(contexts);

    public byte[]? Get(string key)
    {
        var stored = StoredKey(key);
        var now = _time.GetUtcNow();
        using var db = contexts.CreateDbContext();
        var entry = db.CacheEntries.AsNoTracking().Where(e => e.Key == stored)
            .Select(e => new Lookup(e.Value, e.ExpiresAt, e.AbsoluteExpiresAt, e.SlidingExpiration)).FirstOrDefault();
        if (entry is null) return null;
        if (entry.IsExpired(now))
        {
            db.CacheEntries.Where(e => e.Key == stored && e.ExpiresAt <= now).ExecuteDelete();
            return null;
        }
        if (entry.SlidingExpiration is { } sliding)
        {
            var expiresAt = Slide(now, sliding, entry.AbsoluteExpiresAt);
            db.CacheEntries.Where(e => e.Key == stored).ExecuteUpdate(s => s.SetProperty(e => e.ExpiresAt, expiresAt));
        }
        return entry.Value;
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        var stored = StoredKey(key);
        var now = _time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(token);
        var entry = await FindEntry.For(db)(db, stored, token);
        if (entry is null) return null;
        if (entry.IsExpired(now))
        {
            await db.CacheEntries.Where(e => e.Key == stored && e.ExpiresAt <= now).ExecuteDeleteAsync(token);
            return null;
        }
        if (entry.SlidingExpiration is { } sliding)
        {
            var expiresAt = Slide(now, sliding, entry.AbsoluteExpiresAt);
            await db.CacheEntries.Where(e => e.Key == stored).ExecuteUpdateAsync(s => s.SetProperty(e => e.ExpiresAt, expiresAt), token);
        }
        return entry.Value;
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        var entry = NewEntry(key, value, options);
        using var db = contexts.CreateDbContext();
        if (Overwrite(db.CacheEntries, entry) > 0) return;
        db.CacheEntries.Add(entry);
        try
        {
            db.SaveChanges();
        }
        catch (DbUpdateException e) when (DbExceptions.IsUniqueViolation(e))
        {
            // Another writer inserted the key between our update and insert: overwrite its value instead.
            db.ChangeTracker.Clear();
            Overwrite(db.CacheEntries, entry);
        }
    }

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        _writer.UpsertAsync(NewEntry(key, value, options)).WaitAsync(token);

    public void Refresh(string key) => Get(key);

    public async Task RefreshAsync(string key, CancellationToken token = default) => await GetAsync(key, token);

    public void Remove(string key)
    {
        var stored = StoredKey(key);
        using var db = contexts.CreateDbContext();
        db.CacheEntries.Where(e => e.Key == stored).ExecuteDelete();
    }

    public async Task RemoveAsync(string key, CancellationToken token = default)
    {
        var stored = StoredKey(key);
        await using var db = await contexts.CreateDbContextAsync(token);
        await db.CacheEntries.Where(e => e.Key == stored).ExecuteDeleteAsync(token);
    }

    /// <summary>Deletes every expired entry; returns how many were deleted.</summary>
    public async Task<int> RemoveExpiredAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.CacheEntries.Where(e => e.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>The key as stored: itself, or its SHA-256 when it is too long for the key column.</summary>
    public static string StoredKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Length <= MaxStoredKeyLength
            ? key
            : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    private CacheEntry NewEntry(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(options);
        var now = _time.GetUtcNow();
        var absolute = options.AbsoluteExpiration;
        if (options.AbsoluteExpirationRelativeToNow is { } relative) absolute = now + relative;
        if (absolute <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(options), absolute, "The absolute expiration must be in the future.");
        }
        var sliding = options.SlidingExpiration;
        return new CacheEntry
        {
            Key = StoredKey(key),
            Value = value,
            CreatedAt = now,
            AbsoluteExpiresAt = absolute,
            SlidingExpiration = sliding,
            ExpiresAt = sliding is { } window ? Slide(now, window, absolute) : absolute,
        };
    }

    private static int Overwrite(DbSet<CacheEntry> entries, CacheEntry entry) =>
        entries.Where(e => e.Key == entry.Key).ExecuteUpdate(s => s
            .SetProperty(e => e.Value, entry.Value)
            .SetProperty(e => e.CreatedAt, entry.CreatedAt)
            .SetProperty(e => e.ExpiresAt, entry.ExpiresAt)
            .SetProperty(e => e.AbsoluteExpiresAt, entry.AbsoluteExpiresAt)
            .SetProperty(e => e.SlidingExpiration, entry.SlidingExpiration));

    private static DateTimeOffset Slide(DateTimeOffset now, TimeSpan sliding, DateTimeOffset? absolute)
    {
        var next = now + sliding;
        return absolute is { } limit && limit < next ? limit : next;
    }

    // Every model call looks its key up: compiled once, so EF Core does not rebuild and look up the query's cache key each time.
    private static readonly CompiledQuery<Func<PersonaGymDbContext, string, CancellationToken, Task<Lookup?>>> FindEntry = new(() =>
        EF.CompileAsyncQuery((PersonaGymDbContext db, string key, CancellationToken _) => db.CacheEntries.AsNoTracking()
            .Where(e => e.Key == key)
            .Select(e => new Lookup(e.Value, e.ExpiresAt, e.AbsoluteExpiresAt, e.SlidingExpiration))
            .FirstOrDefault()));

    private sealed record Lookup(byte[] Value, DateTimeOffset? ExpiresAt, DateTimeOffset? AbsoluteExpiresAt, TimeSpan? SlidingExpiration)
    {
        public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expiresAt && expiresAt <= now;
    }
}
