using System.Text;
using System.Text.RegularExpressions;

namespace PersonaGym.Core.Parsing;

/// <summary>
/// Reads the exemplar writer's output: per question, one example answer for each score 1..5, laid out as
/// "### Question N" blocks of "Score S: …" lines. Tolerates bold markers, "Level"/"Item" wording, answers that
/// run over several lines, and a missing header when the batch has a single question.
/// </summary>
public static partial class ExemplarParser
{
    /// <summary>One result per expected question (in order); a question whose block is missing or incomplete fails alone.</summary>
    public static IReadOnlyList<ParseResult<IReadOnlyDictionary<int, string>>> Parse(string? output, int questionCount)
    {
        var results = new List<ParseResult<IReadOnlyDictionary<int, string>>>(questionCount);
        if (string.IsNullOrWhiteSpace(output))
        {
            for (var i = 0; i < questionCount; i++) results.Add(ParseResult<IReadOnlyDictionary<int, string>>.Fail("the output is empty"));
            return results;
        }

        var text = output.ReplaceLineEndings("\n");
        var blocks = SplitByHeaders(text);
        if (blocks.Count == 0) blocks = SplitWhereScoresRestart(text);

        for (var number = 1; number <= questionCount; number++)
        {
            results.Add(blocks.TryGetValue(number, out var block)
                ? ParseBlock(block)
                : ParseResult<IReadOnlyDictionary<int, string>>.Fail($"no example answers for question {number}"));
        }
        return results;
    }

    private static ParseResult<IReadOnlyDictionary<int, string>> ParseBlock(string block)
    {
        var answers = new Dictionary<int, StringBuilder>();
        StringBuilder? current = null;
        foreach (var line in block.Split('\n'))
        {
            var marker = ScoreLine().Match(line);
            if (marker.Success)
            {
                var score = marker.Groups["score"].Value[0] - '0';
                // The first example for a score wins; a repeated marker is the model rambling on.
                current = answers.ContainsKey(score) ? null : answers[score] = new StringBuilder(marker.Groups["text"].Value);
                continue;
            }
            if (current is not null && !IsFence(line)) current.Append('\n').Append(line);
        }

        var missing = Enumerable.Range(1, 5)
            .Where(s => !answers.TryGetValue(s, out var a) || ListParser.Clean(a.ToString()).Length == 0).ToList();
        if (missing.Count > 0)
        {
            return ParseResult<IReadOnlyDictionary<int, string>>.Fail(
                $"no example answer for score {string.Join(", ", missing)}");
        }
        return ParseResult<IReadOnlyDictionary<int, string>>.Success(
            answers.ToDictionary(p => p.Key, p => ListParser.Clean(p.Value.ToString())));
    }

    private static Dictionary<int, string> SplitByHeaders(string text)
    {
        var blocks = new Dictionary<int, string>();
        var headers = HeaderLine().Matches(text);
        for (var i = 0; i < headers.Count; i++)
        {
            var number = int.Parse(headers[i].Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var start = headers[i].Index + headers[i].Length;
            var end = i + 1 < headers.Count ? headers[i + 1].Index : text.Length;
            blocks.TryAdd(number, text[start..end]);
        }
        return blocks;
    }

    /// <summary>Without headers, a "Score 1" after a higher score starts the next question.</summary>
    private static Dictionary<int, string> SplitWhereScoresRestart(string text)
    {
        var blocks = new Dictionary<int, string>();
        var number = 0;
        var last = int.MaxValue;
        var current = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            var marker = ScoreLine().Match(line);
            if (marker.Success)
            {
                var score = marker.Groups["score"].Value[0] - '0';
                if (score <= last && score == 1 || number == 0)
                {
                    if (number > 0) blocks[number] = current.ToString();
                    number++;
                    current.Clear();
                }
                last = score;
            }
            if (number > 0) current.Append(line).Append('\n');
        }
        if (number > 0) blocks[number] = current.ToString();
        return blocks;
    }

    private static bool IsFence(string line) => line.TrimStart().StartsWith("```", StringComparison.Ordinal);

    [GeneratedRegex(@"^[ \t>]*(?:#{1,6}[ \t]*)?[*_]*[ \t]*(?:Question|Item|Q)[ \t]*#?[ \t]*(?<n>\d{1,3})\b[^\n]*$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"^[ \t>]*(?:[-*•][ \t]+)?[*_]*[ \t]*(?:Score|Level)[ \t]*(?<score>[1-5])[ \t]*[*_]*[ \t]*(?:[:.)\-–—]|\*\*:?)[*_ \t]*(?<text>.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex ScoreLine();
}
