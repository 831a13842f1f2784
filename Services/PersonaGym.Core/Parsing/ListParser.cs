using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace PersonaGym.Core.Parsing;

/// <summary>
/// Reads a list of strings from model output, whatever shape the model chose: a JSON array (bare or in a
/// ```json fence), a Python-style list with single quotes, numbered lines ("1." / "1)"), or "-" / "*" bullets,
/// with any prose around it ignored.
/// </summary>
public static partial class ListParser
{
    public static ParseResult<IReadOnlyList<string>> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return ParseResult<IReadOnlyList<string>>.Fail("the output is empty");

        // A fenced block is what the model meant as its answer; the text around it is commentary.
        foreach (var candidate in FencedBlocks(text).Append(text))
        {
            if (TryBracketedList(candidate, out var items)) return Result(items);
        }
        var lines = ListLines(text);
        if (lines.Count > 0) return Result(lines);

        return ParseResult<IReadOnlyList<string>>.Fail(
            "no list found (expected a JSON array, numbered lines or bullets)");
    }

    private static ParseResult<IReadOnlyList<string>> Result(List<string> items)
    {
        var cleaned = items.Select(Clean).Where(i => i.Length > 0).ToList();
        return cleaned.Count == 0
            ? ParseResult<IReadOnlyList<string>>.Fail("the list is empty")
            : ParseResult<IReadOnlyList<string>>.Success(cleaned);
    }

    internal static IEnumerable<string> FencedBlocks(string text) =>
        FencePattern().Matches(text).Select(m => m.Groups[1].Value);

    /// <summary>Strips the decoration models put on list items: bold markers, quotes, trailing commas.</summary>
    internal static string Clean(string item)
    {
        var s = item.Trim();
        for (var changed = true; changed && s.Length > 0;)
        {
            changed = false;
            var before = s;
            s = s.TrimEnd(',', ';').Trim();
            if (s.Length >= 4 && s.StartsWith("**", StringComparison.Ordinal) && s.EndsWith("**", StringComparison.Ordinal)) s = s[2..^2].Trim();
            // Only quotes that wrap the whole item: in "Oi!" I'd yell. "Get off!" the first and last belong to two quotations.
            if (s.Length >= 2 && IsQuotePair(s[0], s[^1]) && !s[1..^1].Contains(s[^1], StringComparison.Ordinal)) s = s[1..^1].Trim();
            changed = s != before;
        }
        return s;
    }

    private static bool IsQuotePair(char open, char close) =>
        (open == '"' && close == '"') || (open == '\'' && close == '\'') || (open == '“' && close == '”') || (open == '`' && close == '`');

    private static List<string> ListLines(string text)
    {
        var items = new List<string>();
        foreach (var line in text.ReplaceLineEndings("\n").Split('\n'))
        {
            var match = ListLinePattern().Match(line);
            if (match.Success) items.Add(match.Groups["item"].Value);
        }
        return items;
    }

    /// <summary>
    /// Scans "[ 'a', "b", ]" by hand rather than with a JSON reader, so that Python quoting, trailing commas and
    /// unescaped apostrophes ('Don't') all parse. A quote closes a string only when a ',' or ']' follows it.
    /// </summary>
    private static bool TryBracketedList(string text, out List<string> items)
    {
        items = [];
        for (var start = text.IndexOf('['); start >= 0; start = text.IndexOf('[', start + 1))
        {
            if (TryScanList(text, start, out var scanned) && scanned.Count > 0)
            {
                items = scanned;
                return true;
            }
        }
        return false;
    }

    private static bool TryScanList(string text, int start, out List<string> items)
    {
        items = [];
        var i = start + 1;
        while (true)
        {
            i = SkipWhite(text, i);
            if (i >= text.Length) return false;
            if (text[i] == ']') return true;
            if (text[i] is not ('"' or '\'' or '“')) return false;
            var quote = text[i] == '“' ? '”' : text[i];
            var value = new StringBuilder();
            i++;
            var closed = false;
            while (i < text.Length)
            {
                var c = text[i];
                if (c == '\\' && i + 1 < text.Length)
                {
                    i = AppendEscape(text, i, value);
                    continue;
                }
                if (c == quote)
                {
                    var next = SkipWhite(text, i + 1);
                    if (next >= text.Length || text[next] is ',' or ']')
                    {
                        i = next;
                        closed = true;
                        break;
                    }
                }
                value.Append(c);
                i++;
            }
            if (!closed) return false;
            items.Add(value.ToString());
            if (i >= text.Length) return false;
            if (text[i] == ',') i++;
        }
    }

    private static int AppendEscape(string text, int i, StringBuilder value)
    {
        var e = text[i + 1];
        switch (e)
        {
            case 'n': value.Append('\n'); return i + 2;
            case 't': value.Append('\t'); return i + 2;
            case 'r': return i + 2;
            case 'u' when i + 5 < text.Length
                && int.TryParse(text.AsSpan(i + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code):
                value.Append((char)code);
                return i + 6;
            default: value.Append(e); return i + 2;
        }
    }

    private static int SkipWhite(string text, int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        return i;
    }

    [GeneratedRegex(@"```[A-Za-z0-9_-]*[ \t]*\r?\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex FencePattern();

    [GeneratedRegex(@"^\s*(?:\d{1,3}\s*[.):]|[-*•]|Q(?:uestion)?\s*\d{1,3}\s*[.):])\s+(?<item>\S.*?)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex ListLinePattern();
}
