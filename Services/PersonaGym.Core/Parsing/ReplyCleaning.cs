using System.Globalization;
using System.Text.RegularExpressions;

namespace PersonaGym.Core.Parsing;

/// <summary>What every reader of a model's reply does first: set its reasoning traces aside and read its digits.</summary>
internal static partial class ReplyCleaning
{
    /// <summary>
    /// The reply without its reasoning traces (&lt;think&gt;…&lt;/think&gt;, &lt;thinking&gt;, &lt;scratchpad&gt;,
    /// &lt;reasoning&gt;): deliberation is not the verdict, the answer after it is. A closing tag without its opening
    /// (some providers drop it) ends a trace that began with the reply. Null when the reply ends inside a trace.
    /// </summary>
    /// <remarks>
    /// Only a trace the reply begins with counts, or a closing tag on a line of its own: a tag named inside the
    /// reasoning ("the answer opens with a &lt;think&gt; tag") is text, and cutting from it would join items.
    /// </remarks>
    internal static string? WithoutTraces(string text)
    {
        if (!TraceTag().IsMatch(text)) return text;
        var open = TraceOpen().Match(text);
        if (open.Success && text[..open.Index].Trim().Length == 0)
        {
            var close = TraceClose().Match(text, open.Index + open.Length);
            return close.Success ? text[(close.Index + close.Length)..] : null;
        }
        var lone = LoneClose().Match(text);
        if (lone.Success && !TraceOpen().IsMatch(text[..lone.Index])) return text[(lone.Index + lone.Length)..];
        return text;
    }

    /// <summary>
    /// Digits of other scripts (full-width "４", Arabic-Indic "٤") as ASCII, one character for one, so that every
    /// number the patterns find can be read as one.
    /// </summary>
    internal static string AsciiDigits(string text)
    {
        var chars = (char[]?)null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c <= '\u007f' || !char.IsDigit(c)) continue;
            chars ??= text.ToCharArray();
            chars[i] = (char)('0' + CharUnicodeInfo.GetDecimalDigitValue(c));
        }
        return chars is null ? text : new string(chars);
    }

    [GeneratedRegex(@"</?(?:think|thinking|scratchpad|reasoning)>", RegexOptions.IgnoreCase)]
    private static partial Regex TraceTag();

    [GeneratedRegex(@"<(?:think|thinking|scratchpad|reasoning)>", RegexOptions.IgnoreCase)]
    private static partial Regex TraceOpen();

    [GeneratedRegex(@"</(?:think|thinking|scratchpad|reasoning)>", RegexOptions.IgnoreCase)]
    private static partial Regex TraceClose();

    [GeneratedRegex(@"^[ \t]*</(?:think|thinking|scratchpad|reasoning)>[ \t]*$", RegexOptions.IgnoreCase | RegexOptions.Multiline)]
    private static partial Regex LoneClose();

    /// <summary>
    /// A follow-up asked for some of a batch's items only (say 2 and 4), and the reply's headers name others of the
    /// batch while a wanted one is missing: the model numbered its answers afresh (1 and 2), so which item each
    /// belongs to cannot be told. A reply that answers the whole batch again keeps its numbers. Null when the
    /// numbering can be trusted, else the reason.
    /// </summary>
    internal static string? Renumbered(IEnumerable<int> found, int count, IReadOnlyList<int> wanted, string noun, string what)
    {
        if (wanted.Count >= count) return null;
        var numbers = found.ToHashSet();
        var others = numbers.Where(k => k >= 1 && k <= count && !wanted.Contains(k)).Order().ToList();
        if (others.Count == 0 || wanted.All(numbers.Contains)) return null;
        return $"the follow-up asked for {noun} {string.Join(", ", wanted)} and the reply has {what} for {noun} {string.Join(", ", others)} instead, "
            + "so its answers may be numbered afresh; none of them is read";
    }
}
