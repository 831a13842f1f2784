using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;

namespace PersonaGym.Data;

/// <summary>
/// Stores the small rows every model call produces (its <see cref="LlmCall"/>, its response cache entry, an answer, a
/// judge's verdicts) with group commit: a caller's write is queued and its task completes once the row is committed,
/// exactly as with its own <c>SaveChanges</c>, but writes that arrive while a commit runs share the next one. Under
/// load that is one connection, one change-tracker pass and one transaction for dozens of rows instead of one each,
/// which was most of the pipeline's CPU per call (bench/README.md).
/// </summary>
/// <remarks>
/// A shared commit that fails (a unique index, a bad row) is retried item by item, so each caller gets the outcome its
/// own write would have had: a duplicate of an item added with <c>duplicateIsDone</c> counts as stored, any other error
/// goes to that caller only. No thread waits while the queue is empty; the first write after a quiet spell starts the
/// flusher again.
/// </remarks>
public sealed class GroupCommitWriter(IDbContextFactory<PersonaGymDbContext> contexts)
{
    /// <summary>The most rows one commit takes; more wait for the next.</summary>
    public const int MaxRowsPerCommit = 256;

    private readonly ConcurrentQueue<PendingWrite> _queue = new();
    private int _flushing;

    /// <summary>Inserts <paramref name="rows"/> together. With <paramref name="duplicateIsDone"/> a unique-index violation means another writer stored them first, and counts as success.</summary>
    public Task AddAsync(IReadOnlyList<object> rows, bool duplicateIsDone) =>
        Enqueue(new PendingWrite(rows, null, duplicateIsDone));

    /// <inheritdoc cref="AddAsync(IReadOnlyList{object}, bool)"/>
    public Task AddAsync(object row, bool duplicateIsDone) => AddAsync([row], duplicateIsDone);

    /// <summary>Inserts the cache entry, or overwrites the stored entry of its key (the last write wins).</summary>
    public Task UpsertAsync(CacheEntry entry) => Enqueue(new PendingWrite([], entry, DuplicateIsDone: false));

    private Task Enqueue(PendingWrite write)
    {
        _queue.Enqueue(write);
        if (Interlocked.CompareExchange(ref _flushing, 1, 0) == 0)
        {
            _ = Task.Run(FlushAsync);
        }

        return write.Done.Task;
    }

    private async Task FlushAsync()
    {
        while (true)
        {
            var batch = new List<PendingWrite>();
            var rows = 0;
            while (rows < MaxRowsPerCommit && _queue.TryDequeue(out var write))
            {
                batch.Add(write);
                rows += write.Rows.Count + (write.Entry is null ? 0 : 1);
            }

            if (batch.Count > 0)
            {
                await CommitAsync(batch);
                continue;
            }

            Volatile.Write(ref _flushing, 0);
            // A write queued after the last look, whose caller saw the flag still set, must not wait for the next one.
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _flushing, 1, 0) != 0) return;
        }
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        if (batch.Count > 1)
        {
            try
            {
                await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
                await StageAsync(db, batch);
                await db.SaveChangesAsync(CancellationToken.None);
                foreach (var write in batch) write.Done.TrySetResult();
                return;
            }
            catch (Exception)
            {
                // Some item failed (a duplicate, a bad row, a lost race on a cache key): each is tried on its own below.
            }
        }

        foreach (var write in batch)
        {
            try
            {
                await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
                await StageAsync(db, [write]);
                await db.SaveChangesAsync(CancellationToken.None);
                write.Done.TrySetResult();
            }
            catch (DbUpdateException ex) when (write.DuplicateIsDone && DbExceptions.IsUniqueViolation(ex))
            {
                write.Done.TrySetResult();
            }
            catch (DbUpdateException ex) when (write.Entry is { } entry && DbExceptions.IsUniqueViolation(ex))
            {
                // Another process inserted the key between our look and our insert: overwrite its value.
                try
                {
                    await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
                    await StageAsync(db, [write]);
                    await db.SaveChangesAsync(CancellationToken.None);
                    write.Done.TrySetResult();
                }
                catch (Exception again)
                {
                    write.Done.TrySetException(again);
                }
            }
            catch (Exception ex)
            {
                write.Done.TrySetException(ex);
            }
        }
    }

    /// <summary>Adds every row and applies every cache entry to <paramref name="db"/> (one look-up for all the entries' keys).</summary>
    private static async Task StageAsync(PersonaGymDbContext db, IReadOnlyList<PendingWrite> batch)
    {
        foreach (var write in batch)
        {
            foreach (var row in write.Rows) db.Add(row);
        }

        // The last write of a key wins, as if each had been committed in turn.
        var entries = new Dictionary<string, CacheEntry>(StringComparer.Ordinal);
        foreach (var write in batch)
        {
            if (write.Entry is { } entry) entries[entry.Key] = entry;
        }

        if (entries.Count == 0) return;
        var keys = entries.Keys.ToList();
        var stored = await db.CacheEntries.Where(e => keys.Contains(e.Key)).ToDictionaryAsync(e => e.Key, StringComparer.Ordinal, CancellationToken.None);
        foreach (var (key, entry) in entries)
        {
            if (stored.TryGetValue(key, out var existing))
            {
                existing.Value = entry.Value;
                existing.CreatedAt = entry.CreatedAt;
                existing.ExpiresAt = entry.ExpiresAt;
                existing.AbsoluteExpiresAt = entry.AbsoluteExpiresAt;
                existing.SlidingExpiration = entry.SlidingExpiration;
            }
            else
            {
                // A fresh copy: the caller's entry may be staged again (by a retry) in another context.
                db.CacheEntries.Add(new CacheEntry
                {
                    Key = entry.Key,
                    Value = entry.Value,
                    CreatedAt = entry.CreatedAt,
                    ExpiresAt = entry.ExpiresAt,
                    AbsoluteExpiresAt = entry.AbsoluteExpiresAt,
                    SlidingExpiration = entry.SlidingExpiration,
                });
            }
        }
    }

    private sealed record PendingWrite(IReadOnlyList<object> Rows, CacheEntry? Entry, bool DuplicateIsDone)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
