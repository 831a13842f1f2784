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
    public static IReadOnlyList<ParseResult<IReadOnlyDictionary<int, string>>> Parse(string? output, int questionCount) =>
        Parse(output, questionCount, Enumerable.Range(1, Math.Max(0, questionCount)).ToList());

    /// <summary>
    /// One result per wanted 1-based question number of a batch of <paramref name="questionCount"/> (a follow-up that
    /// asked for some questions only), in the order of <paramref name="wanted"/>.
    /// </summary>
    public static IReadOnlyList<ParseResult<IReadOnlyDictionary<int, string>>> Parse(string? output, int questionCount, IReadOnlyList<int> wanted)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        if (string.IsNullOrWhiteSpace(output))
            return wanted.Select(_ => ParseResult<IReadOnlyDictionary<int, string>>.Fail("the output is empty")).ToList();

        var text = ReplyCleaning.WithoutTraces(output.ReplaceLineEndings("\n"));
        if (string.IsNullOrWhiteSpace(text))
            return wanted.Select(_ => ParseResult<IReadOnlyDictionary<int, string>>.Fail("the reply has only a reasoning trace, or ends inside one")).ToList();
        var blocks = SplitByHeaders(text);
        var repeated = blocks.Where(b => b.Value is null).Select(b => b.Key).ToHashSet();
        // A follow-up asked for questions 2 and 4 whose reply heads its sets "Question 1" and "Question 2" has numbered
        // them afresh: placing them by their headers would give question 2 the examples written for question 4.
        if (ReplyCleaning.Renumbered(blocks.Keys, questionCount, wanted, "question", "examples") is { } renumbered)
            return wanted.Select(_ => ParseResult<IReadOnlyDictionary<int, string>>.Fail(renumbered)).ToList();
        // "Question 0" with examples: the writer counted from 0, so its "Question 1" holds the second question's.
        if (blocks.TryGetValue(0, out var zero) && (zero is null || zero.Split('\n').Any(l => IsMarker(ScoreLine().Match(l)))))
        {
            return wanted.Select(_ => ParseResult<IReadOnlyDictionary<int, string>>.Fail(
                "the output numbers its questions from 0, so which question each set of examples belongs to cannot be told")).ToList();
        }
        if (blocks.Count == 0)
        {
            // Without headers, blocks are in order: they stand for the wanted questions only when there are as many.
            var ordered = SplitWhereScoresRestart(text);
            if (ordered.Count == wanted.Count)
            {
                return wanted.Select((n, i) => ParseBlock(ordered[i + 1], lastInOutput: i == wanted.Count - 1, headered: false)).ToList();
            }
            else if (questionCount > 1 || wanted.Count > 1)
            {
                var reason = $"the output has no question headers and {ordered.Count} sets of examples for {wanted.Count} questions, so which question each belongs to cannot be told";
                return wanted.Select(_ => ParseResult<IReadOnlyDictionary<int, string>>.Fail(reason)).ToList();
            }
        }

        return wanted.Select(number =>
            repeated.Contains(number) ? ParseResult<IReadOnlyDictionary<int, string>>.Fail($"question {number} appears more than once; neither set of examples is read")
            : blocks.TryGetValue(number, out var block) && block is not null ? ParseBlock(block, lastInOutput: IsLast(text, block), headered: true)
            : ParseResult<IReadOnlyDictionary<int, string>>.Fail($"no example answers for question {number}")).ToList();
    }

    /// <param name="headered">
    /// The block is a question's under its header: a numbered line in it ("2. Is the scene safe?") is a step of an
    /// example, not the next question.
    /// </param>
    private static ParseResult<IReadOnlyDictionary<int, string>> ParseBlock(string block, bool lastInOutput, bool headered)
    {
        var answers = new Dictionary<int, StringBuilder>();
        var repeated = new HashSet<int>();
        StringBuilder? current = null;
        var lastWritten = 0;
        var afterBlank = false;
        var blockLines = block.Split('\n');
        // Notes and the writer's closing words come after the last example; before it, such a line is part of an
        // example ("I am an AI language model…\n\nLet me know if you have any other questions!" is a score-1 answer).
        var lastMarker = Array.FindLastIndex(blockLines, l => IsMarker(ScoreLine().Match(l)));
        for (var index = 0; index < blockLines.Length; index++)
        {
            var line = blockLines[index];
            var afterLastExample = index > lastMarker && lastInOutput;
            var marker = ScoreLine().Match(line);
            if (IsMarker(marker))
            {
                var score = marker.Groups["score"].Value[0] - '0';
                if (answers.ContainsKey(score)) repeated.Add(score);
                current = answers[score] = new StringBuilder(marker.Groups["text"].Value.Trim());
                lastWritten = score;
                afterBlank = false;
                continue;
            }
            // "Score 6:", a new question's heading or numbered line, a rule, a note on the example ("Why: …") or the
            // writer's closing words after a blank line ("Let me know if…"): the example before it has ended.
            if (OffScaleLine().IsMatch(line) || HeadingLine().IsMatch(line) || (!headered && QuestionLikeLine().IsMatch(line))
                || RuleOrWhy().IsMatch(line) || (afterLastExample && (NoteLine().IsMatch(line) || (afterBlank && ClosingWords().IsMatch(line)))))
            {
                current = null;
                continue;
            }
            afterBlank = line.Trim().Length == 0;
            if (current is not null && !IsFence(line)) current.Append('\n').Append(line.Trim());
        }

        if (repeated.Count > 0)
            return ParseResult<IReadOnlyDictionary<int, string>>.Fail(
                $"two examples for score {string.Join(", ", repeated.Order())}; which one is meant cannot be told");
        var missing = Enumerable.Range(1, 5)
            .Where(s => !answers.TryGetValue(s, out var a) || Text(a).Length == 0).ToList();
        if (missing.Count > 0)
        {
            return ParseResult<IReadOnlyDictionary<int, string>>.Fail(
                $"no example answer for score {string.Join(", ", missing)}");
        }
        // The last example of the whole reply (the one written last, in whatever order the levels came) ending
        // mid-sentence was cut at the output limit.
        if (lastInOutput && CutEnding().IsMatch(Text(answers[lastWritten])))
            return ParseResult<IReadOnlyDictionary<int, string>>.Fail("the last example ends mid-sentence (the output may be truncated)");
        // An example that announces more ("Training kicks in:") and stops lost its end, wherever it stands.
        if (answers.FirstOrDefault(a => Text(a.Value).EndsWith(':')) is { Value: not null } announced)
            return ParseResult<IReadOnlyDictionary<int, string>>.Fail($"the example for score {announced.Key} ends with a colon, so the rest of it is missing");
        if (answers.FirstOrDefault(a => Placeholder().IsMatch(Text(a.Value))) is { Value: not null } echoed)
            return ParseResult<IReadOnlyDictionary<int, string>>.Fail($"the example for score {echoed.Key} is a placeholder (\"{Text(echoed.Value)}\"), not an answer");
        return ParseResult<IReadOnlyDictionary<int, string>>.Success(answers.ToDictionary(p => p.Key, p => Text(p.Value)));
    }

    /// <summary>An example's text: trimmed lines, without the emphasis or quotes wrapping the whole of it.</summary>
    private static string Text(StringBuilder example)
    {
        var text = string.Join('\n', example.ToString().Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
        text = ListParser.Clean(text);
        foreach (var (open, close) in new[] { ("**", "**"), ("*", "*"), ("_", "_"), ("\"", "\""), ("“", "”") })
        {
            if (text.Length > open.Length + close.Length && text.StartsWith(open, StringComparison.Ordinal) && text.EndsWith(close, StringComparison.Ordinal)
                && !text[open.Length..^close.Length].Contains(close, StringComparison.Ordinal))
                text = text[open.Length..^close.Length].Trim();
        }
        return text;
    }

    /// <summary>Blocks by question header; a question whose header appears twice maps to null.</summary>
    private static Dictionary<int, string?> SplitByHeaders(string text)
    {
        var blocks = new Dictionary<int, string?>();
        var headers = HeaderLine().Matches(text);
        for (var i = 0; i < headers.Count; i++)
        {
            // The examples keep their own digits; a header's number may be full-width ("### Question ２").
            var number = int.Parse(ReplyCleaning.AsciiDigits(headers[i].Groups["n"].Value), System.Globalization.CultureInfo.InvariantCulture);
            var start = headers[i].Index + headers[i].Length;
            var end = i + 1 < headers.Count ? headers[i + 1].Index : text.Length;
            if (!blocks.TryAdd(number, text[start..end])) blocks[number] = null;
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
            if (IsMarker(marker))
            {
                var score = marker.Groups["score"].Value[0] - '0';
                if (score <= last && score == 1 || number == 0)
                {
                    // The next question's title ("2. **Rainy-day walking tour**") stands just before its first
                    // example, after the last example of the question before: it opens the next block.
                    var title = "";
                    if (number > 0)
                    {
                        var lines = current.ToString().TrimEnd('\n', ' ', '\t').Split('\n');
                        if (lines.Length > 1 && TitleLine().IsMatch(lines[^1]) && !IsMarker(ScoreLine().Match(lines[^1])))
                        {
                            title = lines[^1] + "\n";
                            current.Clear().Append(string.Join('\n', lines[..^1])).Append('\n');
                        }
                        blocks[number] = current.ToString();
                    }
                    number++;
                    current.Clear().Append(title);
                }
                last = score;
            }
            if (number > 0) current.Append(line).Append('\n');
        }
        if (number > 0) blocks[number] = current.ToString();
        return blocks;
    }

    /// <summary>"Score 3" opens an example only when a separator, closing emphasis, a bracket or the line's end follows it.</summary>
    private static bool IsMarker(Match marker) =>
        marker.Success && (marker.Groups["sep"].Success || marker.Groups["close"].Length > 0 || marker.Groups["open"].Success
                           || marker.Groups["label"].Success || marker.Groups["text"].Value.Trim().Length == 0);

    private static bool IsLast(string text, string block) => text.TrimEnd().EndsWith(block.TrimEnd(), StringComparison.Ordinal);

    [GeneratedRegex(@"^[ \t>]*(?:[-*•+][ \t]+)?[*_]*[ \t]*(?:Score|Level)[ \t]*(?:[06-9]|\d{2,})\b", RegexOptions.IgnoreCase)]
    private static partial Regex OffScaleLine();

    // A heading, or "**Q2": the example before it has ended.
    [GeneratedRegex(@"^[ \t]*(?:#{1,6}[ \t]|\*\*Q(?:uestion)?[ \t]*\d)", RegexOptions.IgnoreCase)]
    private static partial Regex HeadingLine();

    // In a reply without headers, a line that opens a question rather than continuing an example: "2. How do you…?",
    // '2. "How do you prepare?"', or a numbered title in bold ("2. **Rainy-day walking tour**").
    [GeneratedRegex(@"^[ \t]*(?:\d{1,2}[.)][ \t]+(?!\(?Score)(?:[^\n]*\?[""'”’*_ \t]*|\*\*[^*\n]+\*\*[ \t]*:?)$)", RegexOptions.IgnoreCase)]
    private static partial Regex QuestionLikeLine();

    // What may stand just before a question's first example, in a reply without headers: its title, in bold or quoted
    // ("2. **Rainy-day walking tour**", '2. "How do you prepare?"'). A plain numbered line, or a line asking something,
    // may be the last line of the example before, so it stays there.
    [GeneratedRegex(@"^[ \t]*(?:\d{1,2}[.)][ \t]+\*\*[^*\n]+\*\*[ \t]*:?|\d{1,2}[.)][ \t]+[""“][^\n]+[""”]|\*\*[^*\n]+\*\*[ \t]*:?)[ \t]*$")]
    private static partial Regex TitleLine();

    // A horizontal rule, or a note on why an example earns its score ("Why: …", "**Rationale:** …"): not part of it.
    [GeneratedRegex(@"^[ \t]*(?:(?:-{3,}|\*{3,}|_{3,})[ \t]*|[*_]*(?:Why|Rationale|Explanation|Justification)[*_]*[ \t]*[:：][^\n]*)$", RegexOptions.IgnoreCase)]
    private static partial Regex RuleOrWhy();

    // The writer's notes after the examples ("Note: these are illustrative").
    [GeneratedRegex(@"^[ \t]*[*_]*(?:Notes?|Commentary)[*_]*[ \t]*[:：]", RegexOptions.IgnoreCase)]
    private static partial Regex NoteLine();

    // The writer's own closing words after the examples.
    [GeneratedRegex(@"^[ \t]*(?:Let me know\b|Feel free to\b|I hope (?:these|this)\b|Hope (?:these|this) helps?\b|These (?:examples|answers|sets)\b|Each (?:example|answer|set)\b|If you(?:'d| would)? like\b|Would you like me\b)", RegexOptions.IgnoreCase)]
    private static partial Regex ClosingWords();

    // An echoed template slot: "<example answer that deserves a 1>", "[answer]".
    [GeneratedRegex(@"^(?:<[^<>\n]{1,80}>|\[(?:example|answer|response)[^\]\n]{0,60}\])$", RegexOptions.IgnoreCase)]
    private static partial Regex Placeholder();

    // An example that stops on a comma or a word no sentence ends with was cut off.
    [GeneratedRegex(@"(?:[,;:\-–—]|\b(?:and|or|but|the|a|an|to|of|with|for|in|on|at|that|which|because|so|my|his|her|their|your|our|is|are|was|were|I)\b)$", RegexOptions.IgnoreCase)]
    private static partial Regex CutEnding();

    private static bool IsFence(string line) => line.TrimStart().StartsWith("```", StringComparison.Ordinal);

    // "### Question 2", "**Item 2:**", "Q2:" ("Q4 clock says 1:12" is a line of an example, not a header).
    [GeneratedRegex(@"^[ \t>]*(?:#{1,6}[ \t]*)?[*_]*[ \t]*(?:Question|Item|Q(?=[ \t]*#?[ \t]*\d{1,3}(?:[ \t]*[*_]*[ \t]*(?:[:.)\-–—]|$))))[ \t]*#?[ \t]*(?<n>\d{1,3})\b[^\n]*$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex HeaderLine();

    // "Score 1: …", "- Score 1 (Poor): …", "**Score 1 – Poor**" (the example on the next lines), "1. (Score 1) …", "Level 3 - …".
    [GeneratedRegex(@"^[ \t>]*(?:[-*•+][ \t]+|\d{1,2}[.)][ \t]+)?[*_]*[ \t]*(?<open>[(\[])?(?:Score|Level|Rating)[ \t]*(?<score>[1-5])(?![\d.,]\d|\d)[)\]]?(?<label>[ \t]*(?:\([^)\n]{1,40}\)|[-–—][ \t]*(?![^:\n]*\b(?:I|me|my|we|our)\b)[A-Z][A-Za-z ,\-]{0,60}(?=[ \t]*(?:[*_]{2}|:|$))))?[ \t]*(?<close>[*_]*)[ \t]*(?<sep>[:.\-–—])?[ \t]*(?:\*\*|__)?[ \t]*(?<text>.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex ScoreLine();
}
