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
        return null;
    }

    /// <summary>Personas are compared trimmed, with runs of white space folded.</summary>
    public static string Normalize(string persona) =>
        string.Join(' ', persona.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
