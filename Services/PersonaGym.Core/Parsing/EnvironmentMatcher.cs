using System.Text;
using System.Text.RegularExpressions;

namespace PersonaGym.Core.Parsing;

/// <summary>The environments a model chose, matched back to the pool, and the names it made up.</summary>
public sealed record EnvironmentMatch(IReadOnlyList<string> Matched, IReadOnlyList<string> Unknown);

/// <summary>
/// Maps a model's environment choices onto the pool: ignoring case, punctuation and spacing, accepting the
/// pool's line numbers ("12" or "12. Wedding"), and trimming explanations ("Wedding - because …").
/// </summary>
public static partial class EnvironmentMatcher
{
    public static ParseResult<EnvironmentMatch> Parse(string? output, IReadOnlyList<string> pool)
    {
        var list = ListParser.Parse(output);
        if (!list.IsSuccess) return ParseResult<EnvironmentMatch>.Fail(list.Failure);
        var match = Match(list.Value, pool);
        return match.Matched.Count == 0
            ? ParseResult<EnvironmentMatch>.Fail(
                $"none of the {match.Unknown.Count} chosen names is in the environment pool: {string.Join(", ", match.Unknown.Take(10))}")
            : ParseResult<EnvironmentMatch>.Success(match);
    }

    public static EnvironmentMatch Match(IEnumerable<string> names, IReadOnlyList<string> pool)
    {
        var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in pool) byKey.TryAdd(Key(name), name);

        var matched = new List<string>();
        var unknown = new List<string>();
        foreach (var raw in names)
        {
            var name = ListParser.Clean(raw);
            if (name.Length == 0) continue;
            var found = Find(name, pool, byKey);
            if (found is null) unknown.Add(name);
            else if (!matched.Contains(found)) matched.Add(found);
        }
        return new EnvironmentMatch(matched, unknown);
    }

    private static string? Find(string name, IReadOnlyList<string> pool, Dictionary<string, string> byKey)
    {
        if (byKey.TryGetValue(Key(name), out var whole)) return whole;
        var numbered = NumberPrefix().Match(name);
        if (numbered.Success)
        {
            var rest = numbered.Groups["rest"].Value.Trim();
            if (rest.Length == 0)
            {
                // A bare number refers to the pool's numbered line in the prompt.
                var index = int.Parse(numbered.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture);
                return index >= 1 && index <= pool.Count ? pool[index - 1] : null;
            }
            name = ListParser.Clean(rest);
        }
        if (byKey.TryGetValue(Key(name), out var exact)) return exact;
        var cut = Explanation().Match(name);
        return cut.Success && byKey.TryGetValue(Key(cut.Groups["name"].Value), out var trimmed) ? trimmed : null;
    }

    private static string Key(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (char.IsLetterOrDigit(c)) builder.Append(char.ToLowerInvariant(c));
        }
        return builder.ToString();
    }

    [GeneratedRegex(@"^(?<n>\d{1,4})\s*[.):]?\s*(?<rest>.*)$")]
    private static partial Regex NumberPrefix();

    [GeneratedRegex(@"^(?<name>.+?)\s*(?:\s[-–—]\s|:|\(|,)")]
    private static partial Regex Explanation();
}
