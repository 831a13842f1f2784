using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace PersonaGym.Data;

/// <summary>A key as lists show it: never the secret, which exists only in the answer to <see cref="ApiKeyStore.CreateAsync"/>.</summary>
public sealed record ApiKeyInfo(Guid Id, string Name, ApiKeyRole Role, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public bool IsActive => RevokedAt is null;

    internal static ApiKeyInfo Of(ApiKey key) => new(key.Id, key.Name, key.Role, key.Prefix, key.CreatedAt, key.RevokedAt);
}

/// <summary>A key operation that cannot be done as asked; the message says why, for the user.</summary>
public sealed class ApiKeyException(string message) : Exception(message);

/// <summary>A new key: <see cref="Secret"/> is shown once and stored nowhere.</summary>
public sealed record CreatedApiKey(ApiKeyInfo Key, string Secret)
{
    /// <summary>Deliberately without the secret: a created key may end up in a log line through its string form.</summary>
    public override string ToString() => $"{Key.Name} ({Key.Role}, {Key.Prefix}…)";
}

/// <summary>
/// Creates, lists, revokes and checks Api keys. Used by the Api (authentication, the bootstrap key) and by
/// <c>personagym keys</c> against the same database.
/// </summary>
public static class ApiKeyStore
{
    /// <summary>Every key starts with this, so a key pasted in the wrong place is recognisable (and scannable by secret scanners).</summary>
    public const string KeyPrefix = "pgk_";

    /// <summary>Characters of the key kept in clear as its display prefix.</summary>
    public const int DisplayPrefixLength = 12;

    /// <summary>Shorter configured (bootstrap) keys are refused: they could be guessed.</summary>
    public const int MinimumKeyLength = 32;

    public const int MaxNameLength = 100;

    /// <summary>A new random key: <c>pgk_</c> + 256 random bits in base64url.</summary>
    public static string NewSecret() =>
        KeyPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string HashOf(string secret) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Why a name cannot be used, or null.</summary>
    public static string? ValidateName(string? name) =>
        string.IsNullOrWhiteSpace(name) ? "a key needs a name (who or what uses it)"
        : name.Trim().Length > MaxNameLength ? $"a key name has at most {MaxNameLength} characters"
        : name.Any(char.IsControl) ? "a key name cannot hold control characters"
        : null;

    public static async Task<CreatedApiKey> CreateAsync(PersonaGymDbContext db, string name, ApiKeyRole role, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        if (ValidateName(name) is { } problem) throw new ApiKeyException(problem);
        var secret = NewSecret();
        var key = await AddAsync(db, name.Trim(), role, secret, time ?? TimeProvider.System, cancellationToken);
        return new CreatedApiKey(ApiKeyInfo.Of(key), secret);
    }

    /// <summary>
    /// Makes sure a key configured outside the database (the AppHost's bootstrap key) exists as an operator key.
    /// A key of that secret that was revoked stays revoked: revocation wins over configuration. Active keys of the
    /// same name with another secret (an earlier configured key) are revoked.
    /// </summary>
    /// <returns>True when the key was added now.</returns>
    public static async Task<bool> EnsureAsync(PersonaGymDbContext db, string name, ApiKeyRole role, string secret, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        if (secret.Length < MinimumKeyLength || secret.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            throw new ApiKeyException($"a configured Api key needs at least {MinimumKeyLength} characters and no spaces or control characters");
        var hash = HashOf(secret);
        if (await db.ApiKeys.AnyAsync(k => k.Hash == hash, cancellationToken)) return false;
        try
        {
            var clock = time ?? TimeProvider.System;
            // A changed configured key replaces the one configured before it under the same name.
            var replaced = await db.ApiKeys.Where(k => k.Name == name && k.RevokedAt == null).ToListAsync(cancellationToken);
            foreach (var old in replaced) old.RevokedAt = clock.GetUtcNow();
            await AddAsync(db, name, role, secret, clock, cancellationToken);
            return true;
        }
        catch (DbUpdateException)
        {
            // Another replica of the Api added it first; anything else is a real failure.
            db.ChangeTracker.Clear();
            if (await db.ApiKeys.AnyAsync(k => k.Hash == hash, cancellationToken)) return false;
            throw;
        }
    }

    /// <summary>The active key with this secret, or null (unknown, revoked, or not a key at all).</summary>
    public static async Task<ApiKeyInfo?> FindActiveAsync(PersonaGymDbContext db, string secret, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 512) return null;
        var hash = HashOf(secret);
        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Hash == hash && k.RevokedAt == null, cancellationToken);
        return key is null ? null : ApiKeyInfo.Of(key);
    }

    public static async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(PersonaGymDbContext db, CancellationToken cancellationToken = default)
    {
        var keys = await db.ApiKeys.AsNoTracking().ToListAsync(cancellationToken);
        return keys.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id).Select(ApiKeyInfo.Of).ToList();
    }

    /// <summary>
    /// Revokes the keys named by <paramref name="reference"/>: an id, a display prefix (<c>pgk_…</c>, at least 8
    /// characters), or a name. Several active keys matching one reference are refused, so a revoke never hits
    /// more than the caller meant.
    /// </summary>
    /// <exception cref="ApiKeyException">No key, or more than one active key, matches.</exception>
    public static async Task<ApiKeyInfo> RevokeAsync(PersonaGymDbContext db, string reference, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var text = reference.Trim();
        var all = await db.ApiKeys.ToListAsync(cancellationToken);
        var matches = Guid.TryParse(text, out var id)
            ? all.Where(k => k.Id == id).ToList()
            : all.Where(k => k.Name == text || (text.Length >= 8 && k.Prefix.StartsWith(text, StringComparison.Ordinal))).ToList();
        if (matches.Count == 0) throw new ApiKeyException($"no key '{text}' (list them with `personagym keys list`)");
        var active = matches.Where(k => k.RevokedAt is null).ToList();
        if (active.Count > 1) throw new ApiKeyException($"'{text}' matches {active.Count} active keys; name one by its id or prefix");
        var key = active.SingleOrDefault() ?? matches[0];
        if (key.RevokedAt is null)
        {
            key.RevokedAt = (time ?? TimeProvider.System).GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
        }

        return ApiKeyInfo.Of(key);
    }

    private static async Task<ApiKey> AddAsync(PersonaGymDbContext db, string name, ApiKeyRole role, string secret, TimeProvider time, CancellationToken cancellationToken)
    {
        var key = new ApiKey
        {
            Name = name,
            Role = role,
            Prefix = secret.Length > DisplayPrefixLength ? secret[..DisplayPrefixLength] : secret,
            Hash = HashOf(secret),
            CreatedAt = time.GetUtcNow(),
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return key;
    }
}
