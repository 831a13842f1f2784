using System.Security.Cryptography;
using System.Text;

namespace PersonaGym.Core.Benchmark;

/// <summary>
/// How a persona's question file is named. The original layout names it after the persona text
/// (<c>questions/&lt;persona&gt;.json</c>), which we keep whenever that text is a portable file name, so the original
/// benchmark reads and writes unchanged. A persona text that cannot be a file name on Linux, macOS and Windows alike —
/// it holds <c>/ \ : * ? " &lt; &gt; |</c> or a control character, the name would pass 255 bytes (UTF-8) or 255 UTF-16
/// units, or it is a reserved Windows device name (CON, NUL, COM1, …) — is written as
/// <c>&lt;prefix&gt;~&lt;hash&gt;.json</c>: the first 80 characters (at most 160 UTF-8 bytes) with each unusable character replaced by '_',
/// then '~' and the first 16 hex digits of the SHA-256 of the persona's UTF-8 text. The same happens to personas
/// whose plain names differ only in letter case (they would overwrite each other on a case-insensitive disk).
/// Reading applies the same rule to personas.json, so no name has to be decoded.
/// </summary>
public static class BenchmarkFileNames
{
    public const string PersonasFile = "personas.json";
    public const string EnvironmentsFile = "environments.json";
    public const string QuestionsFolder = "questions";
    public const string Extension = ".json";

    private const int MaxNameLength = 255;
    private const int HashedPrefixLength = 80;

    private static readonly char[] Unusable = ['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

    private static readonly HashSet<string> ReservedDeviceNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL",
        "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>The question file name of each persona, in the same order (see the class summary for the rule).</summary>
    public static IReadOnlyList<string> QuestionFileNames(IReadOnlyList<string> personas)
    {
        ArgumentNullException.ThrowIfNull(personas);
        var plainCounts = personas
            .Where(IsPortablePlainName)
            .GroupBy(p => p + Extension, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Distinct(StringComparer.Ordinal).Count(), StringComparer.OrdinalIgnoreCase);
        return personas
            .Select(p => IsPortablePlainName(p) && plainCounts[p + Extension] == 1 ? p + Extension : HashedName(p))
            .ToList();
    }

    /// <summary>True when the persona text itself, plus ".json", is a file name every common file system accepts.</summary>
    public static bool IsPortablePlainName(string persona)
    {
        ArgumentNullException.ThrowIfNull(persona);
        if (persona.Length == 0) return false;
        if (persona.IndexOfAny(Unusable) >= 0 || persona.Any(char.IsControl)) return false;
        var name = persona + Extension;
        if (name.Length > MaxNameLength || Encoding.UTF8.GetByteCount(name) > MaxNameLength) return false;
        // Windows treats "CON.json", "nul.anything.json" as the device: what counts is the part before the first dot.
        var stem = name[..name.IndexOf('.')].TrimEnd(' ');
        return !ReservedDeviceNames.Contains(stem);
    }

    /// <summary>The <c>&lt;prefix&gt;~&lt;hash&gt;.json</c> form of a persona's question file name.</summary>
    public static string HashedName(string persona)
    {
        ArgumentNullException.ThrowIfNull(persona);
        var prefix = new StringBuilder(HashedPrefixLength);
        var bytes = 0;
        foreach (var rune in persona.EnumerateRunes())
        {
            var safe = Rune.IsControl(rune) || (rune.IsAscii && Array.IndexOf(Unusable, (char)rune.Value) >= 0)
                ? new Rune('_')
                : rune;
            // 80 characters and at most 160 UTF-8 bytes keep the whole name well under 255 bytes.
            if (prefix.Length + safe.Utf16SequenceLength > HashedPrefixLength || bytes + safe.Utf8SequenceLength > 160) break;
            prefix.Append(safe.ToString());
            bytes += safe.Utf8SequenceLength;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(persona)))[..16];
        var stem = prefix.ToString().Trim().TrimStart('.');
        // A prefix such as "NUL.x" would still name a device on Windows: what counts is the part before the first dot.
        if (ReservedDeviceNames.Contains(stem.Split('.')[0].TrimEnd(' '))) stem = "_" + stem;
        return $"{stem}~{hash}{Extension}";
    }
}
