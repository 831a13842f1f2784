namespace PersonaGym.Data;

/// <summary>What a holder of an Api key may do.</summary>
public enum ApiKeyRole
{
    /// <summary>Reads runs, results, question sets and the leaderboard.</summary>
    Reader,
    /// <summary>Everything a reader may, and spends money: submit, resume, cancel, raise budgets.</summary>
    Operator,
}

/// <summary>
/// An Api key. Only the SHA-256 of the secret is stored: a key is 256 random bits, so a fast hash is as strong as a
/// slow one, and a leaked table lets nobody in. The prefix (the key's first characters) names it in lists.
/// </summary>
public sealed class ApiKey
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public required string Name { get; set; }
    public ApiKeyRole Role { get; set; }

    /// <summary>The first characters of the key (<c>pgk_</c> and 8 more), shown by <c>personagym keys list</c>.</summary>
    public required string Prefix { get; set; }

    /// <summary>Lower-case hex SHA-256 of the whole key.</summary>
    public required string Hash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
