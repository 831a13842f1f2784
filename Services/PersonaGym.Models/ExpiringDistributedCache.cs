using Microsoft.Extensions.Caching.Distributed;

namespace PersonaGym.Models;

/// <summary>
/// Gives every response stored without an expiry (M.E.AI's caching client sets none) an absolute lifetime, so the
/// store stays bounded: expired entries are never served and the pruner deletes them.
/// </summary>
internal sealed class ExpiringDistributedCache(IDistributedCache inner, TimeSpan lifetime) : IDistributedCache
{
    public byte[]? Get(string key) => inner.Get(key);

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => inner.GetAsync(key, token);

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => inner.Set(key, value, WithLifetime(options));

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        inner.SetAsync(key, value, WithLifetime(options), token);

    public void Refresh(string key) => inner.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => inner.RefreshAsync(key, token);

    public void Remove(string key) => inner.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => inner.RemoveAsync(key, token);

    private DistributedCacheEntryOptions WithLifetime(DistributedCacheEntryOptions options) =>
        options.AbsoluteExpiration is null && options.AbsoluteExpirationRelativeToNow is null && options.SlidingExpiration is null
            ? new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = lifetime }
            : options;
}
