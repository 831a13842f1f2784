using System.Security.Cryptography;
using System.Text;
using PersonaGym.Core;

namespace PersonaGym.Data;

/// <summary>A persona description, stored once however many runs and question sets use it.</summary>
public sealed class Persona
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>The normalized description (<see cref="Personas.Normalize"/>).</summary>
    public required string Text { get; set; }

    /// <summary>
    /// SHA-256 (lower-case hex) of <see cref="Text"/>. Uniqueness is enforced on the hash because a btree
    /// index cannot hold arbitrarily long text.
    /// </summary>
    public required string TextHash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>A new persona row for a description: the text normalized, the hash computed from it.</summary>
    public static Persona FromDescription(string description, DateTimeOffset createdAt)
    {
        var text = Personas.Normalize(description);
        return new Persona { Text = text, TextHash = HashOf(text), CreatedAt = createdAt };
    }

    /// <summary>The key under which a description is stored: the hash of its normalized form.</summary>
    public static string HashOf(string description) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Personas.Normalize(description))));
}
