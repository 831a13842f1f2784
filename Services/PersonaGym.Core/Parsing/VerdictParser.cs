using System.Globalization;
using System.Text.RegularExpressions;

namespace PersonaGym.Core.Parsing;

/// <summary>
/// Reads a judge's output for a batch: one verdict per item, each reasoning that ends in
/// "Therefore, the final score is N" (paper's judge format). Also accepts the variants judges drift into
/// ("final score is **4**", "Score: 4/5", "4 out of 5"). A verdict without a usable 1..5 score is a failure with
/// its reason (refusal, truncation, out of range), never a 0.
/// </summary>
public static partial class VerdictParser
{
    public static IReadOnlyList<JudgeVerdict> Parse(string? output, int itemCount)
    {
        var verdicts = new List<JudgeVerdict>(itemCount);
        if (string.IsNullOrWhiteSpace(output))
        {
            for (var i = 0; i < itemCount; i++) verdicts.Add(new JudgeVerdict(i, null, "", "the judge's output is empty"));
            return verdicts;
        }

        var text = output.ReplaceLineEndings("\n");
        var blocks = SplitByHeaders(text);
        if (blocks.Count == 0)
        {
            blocks = itemCount == 1 ? new Dictionary<int, string> { [1] = text } : SplitAfterFinalScores(text);
        }

        for (var number = 1; number <= itemCount; number++)
        {
            if (!blocks.TryGetValue(number, out var block))
            {
                verdicts.Add(new JudgeVerdict(number - 1, null, "", $"no verdict for item {number} in the judge's output"));
                continue;
            }
            var reasoning = block.Trim();
            var (score, failure) = ExtractScore(reasoning);
            verdicts.Add(new JudgeVerdict(number - 1, score, reasoning, failure));
        }
        return verdicts;
    }

    /// <summary>The score a single verdict ends with, or the reason none can be read.</summary>
    public static (int? Score, string? Failure) ExtractScore(string verdict)
    {
        if (string.IsNullOrWhiteSpace(verdict)) return (null, "the verdict is empty");

        var match = LastMatch(FinalScore(), verdict) ?? LastMatch(LabelledScore(), verdict) ?? LastMatch(ScoreOutOf(), verdict);
        if (match is null)
        {
            return RefusalPattern().IsMatch(verdict)
                ? (null, "the judge declined to grade: " + Snippet(verdict))
                : (null, "no final score in the verdict (the output may be truncated): " + Snippet(verdict, fromEnd: true));
        }

        var valueText = match.Groups["value"].Value;
        var scale = match.Groups["scale"].Success ? match.Groups["scale"].Value : null;
        if (scale is not null && scale != "5") return (null, $"the score {valueText}/{scale} is not on the 1-5 scale");
        if (!int.TryParse(valueText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var score))
            return (null, $"the score {valueText} is not a whole number from 1 to 5");
        if (score is < 1 or > 5) return (null, $"the score {score} is outside the 1-5 scale");
        return (score, null);
    }

    private static Match? LastMatch(Regex pattern, string text)
    {
        var matches = pattern.Matches(text);
        return matches.Count == 0 ? null : matches[^1];
    }

    private static string Snippet(string text, bool fromEnd = false)
    {
        var oneLine = Prompts.PromptTemplate.OneLine(text);
        if (oneLine.Length <= 80) return $"\"{oneLine}\"";
        return fromEnd ? $"\"…{oneLine[^80..]}\"" : $"\"{oneLine[..80]}…\"";
    }

    private static Dictionary<int, string> SplitByHeaders(string text)
    {
        var blocks = new Dictionary<int, string>();
        var headers = HeaderLine().Matches(text);
        for (var i = 0; i < headers.Count; i++)
        {
            var number = int.Parse(headers[i].Groups["n"].Value, CultureInfo.InvariantCulture);
            var start = headers[i].Index + headers[i].Length;
            var end = i + 1 < headers.Count ? headers[i + 1].Index : text.Length;
            // Text on the header line after "Item 1:" is part of the verdict ("Item 1: Strong answer. … score is 4").
            var rest = headers[i].Groups["rest"].Value;
            blocks.TryAdd(number, rest + text[start..end]);
        }
        return blocks;
    }

    /// <summary>Without item headers, each "final score is N" sentence closes one verdict, in item order.</summary>
    private static Dictionary<int, string> SplitAfterFinalScores(string text)
    {
        var blocks = new Dictionary<int, string>();
        var start = 0;
        var number = 1;
        foreach (Match m in FinalScore().Matches(text))
        {
            var end = m.Index + m.Length;
            blocks[number++] = text[start..end];
            start = end;
        }
        var tail = text[start..];
        if (tail.Trim().Length > 0 && !string.IsNullOrWhiteSpace(tail.Trim(' ', '\n', '.', '*'))) blocks[number] = tail;
        return blocks;
    }

    [GeneratedRegex(@"^[ \t>]*(?:#{1,6}[ \t]*)?[*_]*[ \t]*(?:Item|Answer|Response|Question|Verdict)[ \t]*#?[ \t]*(?<n>\d{1,3})[ \t]*[*_]*[ \t]*(?:[:.)\-–—][*_]*)?(?<rest>[^\n]*)$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"final\s+score\s*(?:is|was|of|would\s+be|:|=)?\s*[:=]?\s*[*_`""'\[(]*\s*(?<value>[-+]?\d+(?:\.\d+)?)(?:\s*[*_]*\s*(?:/|out\s+of)\s*(?<scale>\d+))?", RegexOptions.IgnoreCase)]
    private static partial Regex FinalScore();

    [GeneratedRegex(@"\b(?:score|rating|grade)\s*(?:is|:|=)\s*[*_`""'\[(]*\s*(?<value>[-+]?\d+(?:\.\d+)?)(?:\s*[*_]*\s*(?:/|out\s+of)\s*(?<scale>\d+))?", RegexOptions.IgnoreCase)]
    private static partial Regex LabelledScore();

    [GeneratedRegex(@"(?<![\d.])(?<value>\d+(?:\.\d+)?)\s*(?:/|out\s+of)\s*(?<scale>\d+)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ScoreOutOf();

    [GeneratedRegex(@"\b(?:I\s+(?:cannot|can't|can’t|won't|am\s+unable|'m\s+unable|’m\s+unable)|I'm\s+sorry|I’m\s+sorry|I\s+apologi[sz]e|as\s+an\s+AI|unable\s+to\s+(?:grade|evaluate|assess|provide))", RegexOptions.IgnoreCase)]
    private static partial Regex RefusalPattern();
}
