namespace PersonaGym.Core;

/// <summary>Validation rules for persona descriptions, shared by every edge (CLI, API, files).</summary>
public static class Personas
{
    public const int MaxLength = 4000;

    /// <summary>Trims and checks one persona description; returns an error message or null.</summary>
    public static string? Validate(string? persona)
    {
        if (string.IsNullOrWhiteSpace(persona)) return "a persona description is empty";
        if (persona.Trim().Length > MaxLength) return $"a persona description is longer than {MaxLength} characters";
        // NUL cannot be stored (PostgreSQL text), and escapes would reach prompts and terminals.
        foreach (var c in persona)
        {
            if (char.IsControl(c) && c is not ('\t' or '\n' or '\r')) return $"a persona description holds the control character U+{(int)c:X4}";
        }

        return null;
    }

    /// <summary>Personas are compared trimmed, with runs of white space folded.</summary>
    public static string Normalize(string persona) =>
        string.Join(' ', persona.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
