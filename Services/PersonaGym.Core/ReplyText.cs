using System.Globalization;

namespace PersonaGym.Core;

/// <summary>What a model's reply text holds, before any stage reads it.</summary>
public static class ReplyText
{
    /// <summary>
    /// True when the text has nothing a reader could see: null, empty, or only whitespace, control characters and
    /// invisible format characters (zero-width space and joiners, word joiner, byte-order mark, soft hyphen). Some
    /// providers send these instead of nothing; <see cref="string.IsNullOrWhiteSpace"/> lets them through.
    /// </summary>
    public static bool IsBlank(string? text)
    {
        if (string.IsNullOrEmpty(text)) return true;
        foreach (var c in text)
        {
            if (!char.IsWhiteSpace(c) && !char.IsControl(c) && CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Format) return false;
        }

        return true;
    }
}
