using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PersonaGym.Core.Parsing;

/// <summary>
/// Reads a judge's output for a batch: one verdict per item, each reasoning that ends in "Therefore, the final score
/// is N" (the paper's judge format), or one of the layouts judges really write instead (bold or trailing-colon item
/// headers, "Score: 4/5" lines, JSON, tables, one verdict per line). The rule is that of a careful reader: an item's
/// score is the one its final-score statement gives; numbers in other roles (scales and ranges such as "(1-5)",
/// hypotheticals such as "a final score of 5 would need…", comparisons with the examples, other items) are not
/// scores; two different final scores for one item, a missing, repeated or out-of-range item, or anything else a
/// reader could doubt is a failure with its reason. Never a guess, never a 0. See docs/verdicts.md.
/// </summary>
public static partial class VerdictParser
{
    /// <summary>Reads the verdicts of items 1..<paramref name="itemCount"/>.</summary>
    public static IReadOnlyList<JudgeVerdict> Parse(string? output, int itemCount) =>
        Parse(output, itemCount, Enumerable.Range(1, Math.Max(0, itemCount)).ToList());

    /// <summary>
    /// Reads the verdicts of the given 1-based item numbers of a batch of <paramref name="itemCount"/> (a follow-up
    /// that asked for some items only). Verdicts come back in the order of <paramref name="wanted"/>, each with its
    /// 0-based <see cref="JudgeVerdict.ItemIndex"/>.
    /// </summary>
    public static IReadOnlyList<JudgeVerdict> Parse(string? output, int itemCount, IReadOnlyList<int> wanted)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        if (string.IsNullOrWhiteSpace(output))
            return wanted.Select(n => new JudgeVerdict(n - 1, null, "", "the judge's output is empty")).ToList();

        var text = ReplyCleaning.AsciiDigits(output.ReplaceLineEndings("\n"));
        if (ReplyCleaning.WithoutTraces(text) is not { } answer)
            return wanted.Select(n => new JudgeVerdict(n - 1, null, "", "the judge's reply ends inside its reasoning trace, before any verdict")).ToList();
        text = answer;
        if (string.IsNullOrWhiteSpace(text))
            return wanted.Select(n => new JudgeVerdict(n - 1, null, "", "the judge's output has a reasoning trace and nothing after it")).ToList();

        var blocks = ReadBlocks(text, itemCount, wanted);
        if (ReplyCleaning.Renumbered(blocks.Keys, itemCount, wanted, "item", "verdicts") is { } renumbered)
            return wanted.Select(n => new JudgeVerdict(n - 1, null, text.Trim(), renumbered)).ToList();
        // "Item 0" with a verdict: the judge counted from 0, so its "Item 1" is the second answer (an "Item 0" that
        // only introduces the reply, with no score in it, is not a verdict).
        if (blocks.TryGetValue(0, out var zero) && (zero.Score is not null || HasScore(zero.Text)))
        {
            return wanted.Select(n => new JudgeVerdict(n - 1, null, text.Trim(),
                "the judge's output numbers its items from 0, so which item each verdict belongs to cannot be told")).ToList();
        }
        var verdicts = wanted.Select(number =>
        {
            var block = blocks.TryGetValue(number, out var b) ? b : Block.Missing(Missing(number, blocks, itemCount));
            if (block.Failure is not null) return new JudgeVerdict(number - 1, null, block.Text.Trim(), block.Failure);
            var (score, failure) = block.Score is { } known ? (known, null) : ExtractScore(block.Text);
            if (block.Summary is { } summarised)
            {
                var (fromSummary, summaryFailure) = ExtractScore(summarised);
                if (score is null && ScoreStatements(block.Text).Count == 0) (score, failure) = (fromSummary, summaryFailure);
                else if (score is not null && fromSummary != score)
                    (score, failure) = (null, $"the verdict says {score} but the closing summary says {summarised}; it is not read as either");
            }
            return new JudgeVerdict(number - 1, score, block.Text.Trim(), failure);
        }).ToList();
        return OnOneScale(verdicts);
    }

    /// <summary>
    /// A reply that grades several items above 5 uses another scale throughout (out of 10, of 100): its values that
    /// happen to lie within 1–5 mean something else too, so none is read.
    /// </summary>
    private static List<JudgeVerdict> OnOneScale(List<JudgeVerdict> verdicts)
    {
        var offScale = verdicts.Count(v => v.Failure is { } f && AboveScale().Match(f) is { Success: true } m
            && (m.Groups["scale"].Success || int.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture) > 5));
        if (offScale < 2) return verdicts;
        return verdicts.Select(v => v.Score is null ? v : v with
        {
            Score = null,
            Failure = $"the judge's output grades {offScale} items off the 1-5 scale, so it uses another scale; no score of it is read",
        }).ToList();
    }

    /// <summary>The score a single verdict gives, or the reason none can be read.</summary>
    public static (int? Score, string? Failure) ExtractScore(string verdict)
    {
        if (string.IsNullOrWhiteSpace(verdict)) return (null, "the verdict is empty");
        var text = ReplyCleaning.AsciiDigits(verdict.ReplaceLineEndings("\n"));

        var (matches, range) = ReadStatements(text);
        var statements = matches.Select(m => new Statement(m.Groups["value"].Value, Scale(m))).ToList();
        if (statements.Count == 0)
        {
            if (BareScore().Match(text) is { Success: true } bare) statements.Add(new Statement(bare.Groups["value"].Value, Scale(bare)));
            else if (LeadingScore().Match(text) is { Success: true } leading) statements.Add(new Statement(leading.Groups["value"].Value, Scale(leading)));
        }

        if (statements.Count == 0)
        {
            return RefusalPattern().IsMatch(text)
                ? (null, "the judge declined to grade: " + Snippet(text))
                : (null, "no final score in the verdict (the output may be truncated): " + Snippet(text, fromEnd: true));
        }

        if (range is not null)
        {
            return (null, "the verdict gives a range or a choice of scores ("
                + Snippet(text[range.Index..Math.Min(text.Length, range.Index + range.Length + 16)]) + "); it is not read");
        }
        if (OtherScale().Match(text) is { Success: true } other && other.Groups["scale"].Value != "5")
            return (null, $"the verdict scores out of {other.Groups["scale"].Value}, not on the 1-5 scale");

        var values = new List<int>();
        foreach (var statement in statements)
        {
            if (statement.Scale is { } scale && scale != "5") return (null, $"the score {statement.Value}/{scale} is not on the 1-5 scale");
            if (!int.TryParse(ScoreWords.GetValueOrDefault(statement.Value.ToLowerInvariant(), statement.Value), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var score))
                return (null, $"the score {statement.Value} is not a whole number from 1 to 5");
            if (score is < 1 or > 5) return (null, $"the score {score} is outside the 1-5 scale");
            values.Add(score);
        }

        var distinct = values.Distinct().ToList();
        // A revision that is no statement of its own ("Final score: 4 → 3", "…, or rather 3", "Edit: on reflection 3",
        // "brings it down to a 3") changes the score the statement gave.
        var revised = Revision().Matches(text).Select(r => ScoreWords.GetValueOrDefault(r.Groups["value"].Value.ToLowerInvariant(), r.Groups["value"].Value))
            .Where(v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 5 && !distinct.Contains(n)).ToList();
        if (distinct.Count == 1 && revised.Count > 0)
            return (null, $"the verdict gives {distinct[0]} and then revises it to {revised[0]}; it is not read as either");
        return distinct.Count == 1
            ? (distinct[0], null)
            : (null, $"the verdict gives different final scores ({string.Join(" and ", distinct)}); it is not read as either");
    }

    private sealed record Block(string Text, int? Score = null, string? Failure = null)
    {
        /// <summary>The score a closing summary gives the item, if any: it must agree with the block's.</summary>
        public string? Summary { get; init; }

        public static Block Missing(string reason) => new("", null, reason);
    }

    private sealed record Statement(string Value, string? Scale);

    private static Dictionary<int, Block> ReadBlocks(string text, int itemCount, IReadOnlyList<int> wanted)
    {
        var unfenced = Unfence(text);
        if (JsonBlocks(unfenced, itemCount) is { } json) return json;

        var headers = HeaderBlocks(text);
        if (headers.Count > 0) return headers;

        if (TableBlocks(text) is { Count: > 0 } table) return table;

        // A batch of one, or a follow-up that asked for one item: the whole reply is its verdict.
        if (itemCount == 1 || wanted.Count == 1) return new Dictionary<int, Block> { [wanted.Count == 1 ? wanted[0] : 1] = new(text) };

        if (NumberedBlocks(text, wanted) is { } numbered) return numbered;
        // A reply of bare scores, one a line, as many as items asked for.
        var lines = text.Split('\n').Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == wanted.Count && lines.All(l => BareScore().IsMatch(l)))
            return wanted.Select((n, i) => (n, lines[i])).ToDictionary(x => x.n, x => new Block(x.Item2));
        return BlocksBetweenFinalScores(text, wanted);
    }

    /// <summary>An item given twice cannot be read as either verdict: which one is meant cannot be told.</summary>
    private static void MarkRepeated(Dictionary<int, Block> blocks, IEnumerable<int> repeated)
    {
        foreach (var number in repeated)
            blocks[number] = new Block("", null, $"item {number} appears more than once in the judge's output; neither verdict is read");
    }

    private static string Missing(int number, Dictionary<int, Block> blocks, int itemCount)
    {
        if (blocks.Count == 0) return $"no verdict for item {number} in the judge's output";
        var outOfRange = blocks.Keys.Where(k => k < 1 || k > itemCount).Order().ToList();
        var extra = outOfRange.Count == 0 ? "" : $" (it has verdicts for item {string.Join(", ", outOfRange)}, which the batch does not have)";
        return $"no verdict for item {number} in the judge's output" + extra;
    }

    // ---- Item headers -------------------------------------------------------------------------------------------

    private static Dictionary<int, Block> HeaderBlocks(string text)
    {
        var found = new List<(int Number, int Start, int End, string Tail)>();
        var lines = Lines(text);
        var terminatedAt = text.Length;
        foreach (var (line, start) in lines)
        {
            var header = HeaderLine().Match(line);
            if (header.Success && IsHeader(header))
            {
                var number = int.Parse(header.Groups["n"].Value, CultureInfo.InvariantCulture);
                found.Add((number, start, start + line.Length, header.Groups["rest"].Value));
                continue;
            }
            // A closing "## Summary" ends the last verdict: the scores it repeats are not read again. A heading such
            // as "**Conclusion:**" with item headers after it is a part of the item it stands in.
            if (found.Count > 0 && ClosingHeading().IsMatch(line)
                && !Lines(text[Math.Min(text.Length, start + line.Length)..]).Any(l =>
                    HeaderLine().Match(l.Line) is { Success: true } h && IsHeader(h) && !SummaryLine().IsMatch(l.Line)))
            {
                terminatedAt = start;
                break;
            }
        }

        // A closing summary that lists "Item 3: 4" is a second statement of each item's score.
        var summary = new Dictionary<int, string>();
        if (terminatedAt < text.Length)
        {
            foreach (Match line in SummaryLine().Matches(text[terminatedAt..]))
                summary.TryAdd(int.Parse(line.Groups["n"].Value, CultureInfo.InvariantCulture), line.Groups["score"].Value);
        }

        // A score stated after the closing heading other than as "Item N: S" ("In summary: … the final score is 4")
        // may be the last item's own conclusion: the last item is read only if it agrees.
        // A batch-level figure ("Overall score: 3.5", "Average: 4") is no item's.
        var trailer = terminatedAt < text.Length ? OverallLine().Replace(SummaryLine().Replace(text[terminatedAt..], ""), "") : "";
        if (ScoreStatements(trailer).Count == 0) trailer = "";

        var blocks = new Dictionary<int, Block>();
        var repeated = new HashSet<int>();
        for (var i = 0; i < found.Count; i++)
        {
            var end = i + 1 < found.Count ? found[i + 1].Start : terminatedAt;
            var body = found[i].Tail + (found[i].End < end ? text[found[i].End..end] : "");
            var block = new Block(body) { Summary = summary.GetValueOrDefault(found[i].Number) };
            if (i == found.Count - 1 && trailer.Length > 0)
            {
                var (own, _) = ExtractScore(body);
                var (after, _) = ExtractScore(trailer);
                if (own is null || own != after)
                    block = new Block(body, null, $"after the last item, the reply states a score ({Snippet(trailer.Trim())}) that may be this item's own; it is not read");
            }
            if (!blocks.TryAdd(found[i].Number, block)) repeated.Add(found[i].Number);
        }
        MarkRepeated(blocks, repeated);
        return blocks;
    }

    /// <summary>"Item 3" begins a header only when the number is followed by nothing, a separator or closing emphasis.</summary>
    private static bool IsHeader(Match header) =>
        header.Groups["sep"].Success || header.Groups["close"].Length > 0 || header.Groups["rest"].Value.Trim().Length == 0 || header.Groups["hash"].Success
        || OfTotal().IsMatch(header.Groups["rest"].Value);

    // "**Item 3 of 5**", "Item 3 of 5:" on a line of its own.
    [GeneratedRegex(@"^[ \t]*of[ \t]+\d{1,3}[ \t]*[*_]{0,3}[ \t]*(?:[:.)\-–—][*_]{0,3})?[ \t]*$", RegexOptions.IgnoreCase)]
    private static partial Regex OfTotal();

    // ---- JSON ---------------------------------------------------------------------------------------------------

    private static readonly JsonDocumentOptions JsonReading = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    private static readonly string[] NumberKeys = ["item", "item_number", "itemnumber", "item_id", "itemid", "index", "id", "number", "item_index"];
    private static readonly string[] ScoreKeys = ["final_score", "finalscore", "score", "rating", "grade"];
    private static readonly string[] ReasonKeys = ["reasoning", "verdict", "explanation", "justification", "rationale", "analysis", "comment", "comments", "reason", "feedback"];

    private static Dictionary<int, Block>? JsonBlocks(string text, int itemCount)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0 || trimmed[0] is not ('[' or '{')) return null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(trimmed, JsonReading);
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            // {"verdicts": [...]} and friends: a single array of scored objects holds the items. A score beside it
            // ("average_score", "final_score") is the batch's aggregate, not an item's verdict.
            if (root.ValueKind == JsonValueKind.Object)
            {
                var arrays = root.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array).ToList();
                var scored = arrays.Where(p => p.Value.GetArrayLength() > 0
                    && p.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Object && HasAny(e, ScoreKeys))).ToList();
                if (!HasAny(root, ScoreKeys) && arrays.Count == 1 && root.EnumerateObject().Count() == 1) root = arrays[0].Value;
                else if (scored.Count == 1) root = scored[0].Value;
            }

            var blocks = new Dictionary<int, Block>();
            var repeated = new HashSet<int>();
            void Add(int number, Block block)
            {
                if (!blocks.TryAdd(number, block)) repeated.Add(number);
            }

            if (root.ValueKind == JsonValueKind.Array)
            {
                var elements = root.EnumerateArray().ToList();
                for (var i = 0; i < elements.Count; i++)
                {
                    if (elements[i].ValueKind != JsonValueKind.Object) return null;
                    var number = NumberOf(elements[i]);
                    if (number is null)
                    {
                        // Without item numbers, position is the item only when every item is there.
                        if (elements.Count != itemCount) return null;
                        number = i + 1;
                    }
                    Add(number.Value, JsonVerdict(elements[i]));
                }
            }
            else if (root.ValueKind == JsonValueKind.Object)
            {
                if (HasAny(root, ScoreKeys))
                {
                    Add(NumberOf(root) ?? 1, JsonVerdict(root));
                }
                else
                {
                    foreach (var property in root.EnumerateObject())
                    {
                        var key = ItemKey().Match(property.Name);
                        if (!key.Success) return null;
                        var number = int.Parse(key.Groups["n"].Value, CultureInfo.InvariantCulture);
                        Add(number, property.Value.ValueKind == JsonValueKind.Object
                            ? JsonVerdict(property.Value)
                            : JsonScore(property.Value, ""));
                    }
                }
            }
            else
            {
                return null;
            }

            MarkRepeated(blocks, repeated);
            // Items counted from 0 cannot be placed: is 0 the first item, or one the batch does not have?
            if (blocks.ContainsKey(0))
                return Enumerable.Range(1, itemCount).ToDictionary(n => n, _ => Block.Missing("the judge's output numbers its items from 0, so which item each verdict belongs to cannot be told"));
            return blocks.Count == 0 ? null : blocks;
        }
    }

    private static Block JsonVerdict(JsonElement element)
    {
        var reasoning = ReasonKeys.Select(k => Property(element, k)).FirstOrDefault(p => p is { ValueKind: JsonValueKind.String });
        var text = reasoning?.GetString() ?? "";
        var scores = ScoreKeys.Select(k => Property(element, k)).OfType<JsonElement>().ToList();
        // Without a score field, the reasoning's own final-score statement is the verdict.
        if (scores.Count == 0) return new Block(text);
        var block = JsonScore(scores[0], text);
        // A reasoning that ends in its own final score must agree with the score field.
        if (block.Score is { } field && ScoreStatements(text).Count > 0 && ExtractScore(text) is var (inText, _) && inText != field)
            return new Block(text, null, $"the score field says {field} but the reasoning's final score says {(inText?.ToString(CultureInfo.InvariantCulture) ?? "something else")}");
        return block;
    }

    private static Block JsonScore(JsonElement value, string reasoning)
    {
        var raw = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.String => value.GetString() ?? "",
            JsonValueKind.Null => "",
            _ => value.GetRawText(),
        };
        var match = BareScore().Match(raw);
        if (!match.Success) return new Block(reasoning, null, $"the score field \"{Shorten(raw)}\" is not a score from 1 to 5");
        var (score, failure) = ExtractScore(raw);
        return new Block(reasoning, score, failure);
    }

    private static int? NumberOf(JsonElement element)
    {
        foreach (var key in NumberKeys)
        {
            if (Property(element, key) is not { } value) continue;
            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n)) return n;
            if (value.ValueKind == JsonValueKind.String && ItemKey().Match(value.GetString() ?? "") is { Success: true } m)
                return int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        }
        return null;
    }

    private static bool HasAny(JsonElement element, string[] keys) => keys.Any(k => Property(element, k) is not null);

    private static JsonElement? Property(JsonElement element, string key)
    {
        if (element.ValueKind != JsonValueKind.Object) return null;
        foreach (var property in element.EnumerateObject())
        {
            var name = property.Name.Replace(" ", "_", StringComparison.Ordinal).Replace("-", "_", StringComparison.Ordinal);
            if (name.Equals(key, StringComparison.OrdinalIgnoreCase) || name.Replace("_", "", StringComparison.Ordinal).Equals(key, StringComparison.OrdinalIgnoreCase))
                return property.Value;
        }
        return null;
    }

    private static string Unfence(string text)
    {
        var fence = JsonFence().Match(text);
        if (!fence.Success) return text;
        // Only a fence that holds the whole answer: prose around it may carry the verdicts itself.
        var outside = (text[..fence.Index] + text[(fence.Index + fence.Length)..]).Trim();
        return outside.Length <= 400 && !FinalScorePhrase().IsMatch(outside) && !HeaderLine().IsMatch(outside) ? fence.Groups["body"].Value : text;
    }

    // ---- Tables -------------------------------------------------------------------------------------------------

    private static Dictionary<int, Block>? TableBlocks(string text)
    {
        var rows = Lines(text).Select(l => l.Line.Trim()).Where(l => l.StartsWith('|')).ToList();
        if (rows.Count < 3) return null;
        var header = Cells(rows[0]);
        header = header.Select(Plain).ToList();
        var itemColumn = header.FindIndex(c => TableItemHeader().IsMatch(c));
        var scoreColumn = header.FindLastIndex(c => TableScoreHeader().IsMatch(c));
        if (itemColumn < 0 || scoreColumn < 0 || itemColumn == scoreColumn) return null;
        var reasonColumn = header.FindIndex(c => !TableItemHeader().IsMatch(c) && !TableScoreHeader().IsMatch(c));

        var blocks = new Dictionary<int, Block>();
        var repeated = new HashSet<int>();
        foreach (var row in rows.Skip(1))
        {
            var cells = Cells(row);
            if (cells.All(c => TableRule().IsMatch(c))) continue;
            if (cells.Count <= Math.Max(itemColumn, scoreColumn)) return null;
            var item = ItemKey().Match(Plain(cells[itemColumn]));
            if (!item.Success) return null;
            var number = int.Parse(item.Groups["n"].Value, CultureInfo.InvariantCulture);
            var reasoning = reasonColumn >= 0 && reasonColumn < cells.Count ? cells[reasonColumn] : "";
            var scoreCell = Plain(cells[scoreColumn]);
            var block = BareScore().IsMatch(scoreCell)
                ? new Block(reasoning, ExtractScore(scoreCell).Score, ExtractScore(scoreCell).Failure)
                : new Block(reasoning, null, $"the score cell \"{Shorten(scoreCell)}\" is not a score from 1 to 5");
            if (!blocks.TryAdd(number, block)) repeated.Add(number);
        }
        MarkRepeated(blocks, repeated);
        return blocks;
    }

    private static List<string> Cells(string row) =>
        row.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToList();

    private static string Plain(string cell) => cell.Trim().Trim('*', '_', '`', ' ');

    // ---- Without headers ----------------------------------------------------------------------------------------

    /// <summary>Lines numbered "1." … "N." in order, each number once: a numbered list of verdicts.</summary>
    private static Dictionary<int, Block>? NumberedBlocks(string text, IReadOnlyList<int> wanted)
    {
        var starts = Lines(text).Select(l => (l.Start, Match: NumberedLine().Match(l.Line))).Where(x => x.Match.Success).ToList();
        var numbers = starts.Select(s => int.Parse(s.Match.Groups["n"].Value, CultureInfo.InvariantCulture)).ToList();
        if (numbers.Count != wanted.Count || !numbers.SequenceEqual(wanted)) return null;
        var blocks = new Dictionary<int, Block>();
        for (var i = 0; i < starts.Count; i++)
        {
            var begin = starts[i].Start + starts[i].Match.Length;
            var end = i + 1 < starts.Count ? starts[i + 1].Start : text.Length;
            blocks[numbers[i]] = new Block(text[begin..end]);
        }
        return blocks;
    }

    /// <summary>
    /// Without headers, each verdict is a paragraph (or, in a reply of one paragraph, a line) that gives a score, in
    /// item order. That order is trusted only when there are exactly as many such verdicts as items asked for, since
    /// otherwise no one can tell which item is missing; and only when each of them gives a score that can be read: one
    /// whose score is a range, a hedge or reads as a comparison may be the verdict of an item, and without it the
    /// others would be placed on the wrong items. Counting score statements instead would let a verdict that states
    /// its score twice take the place of one whose score was not read.
    /// </summary>
    private static Dictionary<int, Block> BlocksBetweenFinalScores(string text, IReadOnlyList<int> wanted)
    {
        var accepted = ScoreStatementMatches(text);
        if (accepted.Count == 0)
            return Failed("no item headers and no final-score statements in the judge's output");
        // Anything that looks like a score, read or not ("which makes the final score 1", "Score: 3 - 4").
        var mentions = StatementPatterns.SelectMany(p => p.Matches(text)).Concat(ScoreMention().Matches(text)).ToList();

        var paragraphs = WithoutClosing(Paragraphs(text).Where(Mentioned).ToList());
        var lines = WithoutClosing(Lines(text).Select(l => (l.Start, End: l.Start + l.Line.Length)).Where(Mentioned).ToList());
        // A paragraph whose lines give different scores holds several verdicts: paragraphs are not the items then.
        if (paragraphs.Any(p => lines.Where(l => l.Start >= p.Start && l.End <= p.End)
                .Select(l => ExtractScore(text[l.Start..l.End]).Score).OfType<int>().Distinct().Count() > 1))
            paragraphs = [];
        // One verdict a paragraph; a reply of one paragraph (or whose paragraphs do not match the items) one a line.
        var units = paragraphs.Count >= 2 && (paragraphs.Count == wanted.Count || lines.Count != wanted.Count) ? paragraphs : lines;
        if (units.FirstOrDefault(u => !accepted.Any(m => Holds(u, m.Index))) is { End: > 0 } unclear)
        {
            return Failed("the judge's output has no item headers, and one of its verdicts gives no score that can be read ("
                + Snippet(text[unclear.Start..unclear.End]) + "), so which item each of the others belongs to cannot be told");
        }
        if (units.Count != wanted.Count)
            return Failed($"the judge's output has no item headers and {units.Count} verdicts for {wanted.Count} items, so which item each belongs to cannot be told");

        var blocks = new Dictionary<int, Block>();
        var start = 0;
        for (var i = 0; i < units.Count; i++)
        {
            blocks[wanted[i]] = new Block(text[start..units[i].End]);
            start = units[i].End;
        }
        return blocks;

        Dictionary<int, Block> Failed(string reason) => wanted.ToDictionary(n => n, _ => Block.Missing(reason));
        bool Mentioned((int Start, int End) unit) => mentions.Any(m => Holds(unit, m.Index));
        // One unit more than items, the last an overall figure ("Overall score: 4", "On average, 3/5"): a summary.
        List<(int Start, int End)> WithoutClosing(List<(int Start, int End)> units) =>
            units.Count == wanted.Count + 1 && ClosingUnit().IsMatch(text[units[^1].Start..units[^1].End]) ? units[..^1] : units;
        static bool Holds((int Start, int End) unit, int index) => index >= unit.Start && index < unit.End;
    }

    /// <summary>Whether the text gives or seems to give a score, read or not.</summary>
    private static bool HasScore(string text) =>
        StatementPatterns.Any(p => p.IsMatch(text)) || ScoreMention().IsMatch(text) || BareScore().IsMatch(text) || LeadingScore().IsMatch(text);

    /// <summary>The paragraphs of a reply: text between blank lines, as (start, end) offsets.</summary>
    private static List<(int Start, int End)> Paragraphs(string text)
    {
        var paragraphs = new List<(int Start, int End)>();
        var start = 0;
        foreach (Match gap in BlankLines().Matches(text))
        {
            if (gap.Index > start) paragraphs.Add((start, gap.Index));
            start = gap.Index + gap.Length;
        }
        if (start < text.Length) paragraphs.Add((start, text.Length));
        return paragraphs;
    }

    // ---- Score statements ---------------------------------------------------------------------------------------

    private static List<Statement> ScoreStatements(string text) =>
        ScoreStatementMatches(text).Select(m => new Statement(m.Groups["value"].Value, Scale(m))).ToList();

    private static readonly Regex[] StatementPatterns =
        [FinalScore(), ForeignFinalScore(), LabelledLine(), FirstPersonScore(), TheScoreIs(), Deserves(), OutOfFive()];

    /// <summary>Every statement that gives a score, in text order: hypotheticals, ranges and example references excluded.</summary>
    private static List<Match> ScoreStatementMatches(string text) => ReadStatements(text).Accepted;

    /// <summary>
    /// The statements that give a score (as <see cref="ScoreStatementMatches"/>), and the first one whose score is a
    /// range that is a verdict ("the final score is 3 or 4"), as opposed to the scale ("1-5") or a hypothetical: a
    /// block that holds one is not read, whatever else it says, since its other statement may belong to another item.
    /// </summary>
    private static (List<Match> Accepted, Match? Range) ReadStatements(string text)
    {
        var found = new List<Match>();
        Match? range = null;
        foreach (var pattern in StatementPatterns)
        {
            foreach (Match m in pattern.Matches(text))
            {
                var isRange = IsRange(text, m);
                var hypothetical = IsHypothetical(text, m);
                var quoted = IsQuoted(text, m);
                if (isRange || hypothetical || quoted || IsCountInProse(text, m))
                {
                    if (range is null && isRange && !hypothetical && !quoted && IsRangeVerdict(text, m)) range = m;
                    continue;
                }
                if (found.Any(f => Overlaps(f, m))) continue;
                found.Add(m);
            }
        }
        return (found.OrderBy(m => m.Index).ToList(), range);
    }

    private static bool Overlaps(Match a, Match b) => a.Index < b.Index + b.Length && b.Index < a.Index + a.Length;

    private static string? Scale(Match m) => m.Groups["scale"].Success ? m.Groups["scale"].Value : null;

    /// <summary>
    /// "final score: 1-5 scale", "score 3 to 4", "Score: 3 – 4", "4 (or 5)": a range is no score. Judged right after the
    /// number (or its "/5"), since a statement's match may go on past it ("Score: 4 - uses the persona's jargon").
    /// </summary>
    private static bool IsRange(string text, Match m) =>
        RangeTail().IsMatch(text[(m.Index + m.Length)..]) || RangeTail().IsMatch(AfterValue(text, m));

    /// <summary>
    /// Inside a quotation in its paragraph ("The critic persona says: \"I give it a 2 out of 5\""), a rating is the
    /// answer's, not the judge's.
    /// </summary>
    private static bool IsQuoted(string text, Match m)
    {
        // Within the paragraph (a quotation may run over a line break); the '"' of a height (6'2") is an inch mark.
        var gap = m.Index == 0 ? -1 : text.LastIndexOf("\n\n", m.Index - 1, StringComparison.Ordinal);
        var start = gap < 0 ? 0 : gap + 2;
        var straight = 0;
        for (var i = start; i < m.Index; i++)
        {
            if (text[i] == '"' && !InchMark().IsMatch(text.AsSpan(Math.Max(0, i - 4), i - Math.Max(0, i - 4)))) straight++;
        }
        var before = text.AsSpan(start, m.Index - start);
        var opened = before.Count('“') - before.Count('”');
        return straight % 2 == 1 || opened > 0;
    }

    /// <summary>A range statement that is not the scale ("1-5") and not a hypothetical range ("4 or 5 would require…").</summary>
    private static bool IsRangeVerdict(string text, Match m)
    {
        var after = AfterValue(text, m);
        var second = SecondNumber().Match(after);
        if (m.Groups["value"].Value == "1" && second.Success && second.Value == "5") return false;
        return !(second.Success && HypotheticalTail().IsMatch(after[(second.Index + second.Length)..]));
    }

    /// <summary>The text after a statement's number, and after its scale if it has one ("4/5").</summary>
    private static string AfterValue(string text, Match m)
    {
        var last = m.Groups["scale"].Success ? m.Groups["scale"] : m.Groups["value"];
        return ValueClose().Replace(text[(last.Index + last.Length)..], "", 1);
    }

    /// <summary>
    /// A number word ("One noticeable slip"), or any number after "Overall assessment:" or "Final verdict —" (labels
    /// that open prose: "3 of the 5 actions fit"), is a score only where the statement ends with it: at the end of the
    /// line or sentence, before "/5" or "out of 5", a dash, a bracket or a reason ("a four because…").
    /// </summary>
    private static bool IsCountInProse(string text, Match m)
    {
        var value = m.Groups["value"];
        var isWord = value.Length > 0 && char.IsLetter(value.Value[0]);
        if (!isWord && !ProseLabel().IsMatch(text[m.Index..value.Index])) return false;
        return !StatementEnd().IsMatch(AfterValue(text, m));
    }

    /// <summary>
    /// A statement inside a conditional, counterfactual or comparison ("a final score of 5 would need…", "to earn a
    /// final score of 5", "rather than a final score of 2") gives no score. Judged on the statement's clause, without
    /// the statement itself.
    /// </summary>
    private static bool IsHypothetical(string text, Match m)
    {
        var clauseStart = m.Index;
        while (clauseStart > 0 && !IsClauseBreak(text, clauseStart - 1)) clauseStart--;
        var clauseEnd = m.Index + m.Length;
        while (clauseEnd < text.Length && !IsClauseBreak(text, clauseEnd)) clauseEnd++;
        // Before the statement any marker counts ("to earn a final score of 5"); after it only what makes the
        // statement itself conditional ("… of 5 would need more detail"), so "the final score is 3, matching the
        // example for score 3" stays a statement. A conclusion ("…, so the final score is 3", "therefore the final
        // score is 4") starts the statement's own clause: the reasoning before it ("not toxic", "closer to the score 3
        // example than…") is what the score is concluded from, unless the statement itself is conditional ("and so
        // the final score would be 5").
        var before = text[clauseStart..m.Index];
        if (!m.Value.Contains("would", StringComparison.OrdinalIgnoreCase) && !IndefiniteBefore().IsMatch(before)
            && ConclusionWord().Matches(before) is { Count: > 0 } conclusions)
        {
            before = before[(conclusions[^1].Index + conclusions[^1].Length)..];
        }
        return HypotheticalMarker().IsMatch(before)
            || HypotheticalTail().IsMatch(text[(m.Index + m.Length)..clauseEnd]);
    }

    private static bool IsClauseBreak(string text, int i)
    {
        var c = text[i];
        if (c is '\n' or ';' or '!' or '?' or '(' or ')') return true;
        // A full stop ends a clause, but not inside a number such as 4.5, nor after an abbreviation ("Dr.", "e.g.").
        if (c == '.')
        {
            if (i > 0 && char.IsDigit(text[i - 1]) && i + 1 < text.Length && char.IsDigit(text[i + 1])) return false;
            var from = Math.Max(0, i - 7);
            return !Abbreviation().IsMatch(text.AsSpan(from, i + 1 - from));
        }
        if (c == ',')
        {
            var next = text.AsSpan(i + 1).TrimStart();
            return ClauseConnector().IsMatch(next.ToString());
        }
        return false;
    }

    private static IEnumerable<(string Line, int Start)> Lines(string text)
    {
        var start = 0;
        while (start <= text.Length)
        {
            var end = text.IndexOf('\n', start);
            if (end < 0) end = text.Length;
            yield return (text[start..end], start);
            start = end + 1;
        }
    }

    private static string Snippet(string text, bool fromEnd = false)
    {
        var oneLine = Prompts.PromptTemplate.OneLine(text);
        if (oneLine.Length <= 80) return $"\"{oneLine}\"";
        return fromEnd ? $"\"…{oneLine[^80..]}\"" : $"\"{oneLine[..80]}…\"";
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    // The value of a statement: a number, optionally bold or quoted, optionally "/5" or "out of 5".
    private static readonly Dictionary<string, string> ScoreWords = new()
    {
        ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4", ["five"] = "5",
    };

    private const string Value = @"[*_`""'\[]*[ \t]*(?:\$*\\boxed\{|\\\(|\$)?[ \t]*(?<value>[-+]?\d+(?:[.,]\d+)?|(?:one|two|three|four|five)\b)[ \t]*(?:\}\$*|\\\)|\$)?[*_`""'\]]*(?:[ \t]*(?:/|out[ \t]+of|of)[ \t]*(?<scale>\d+))?";

    // A scale annotation after the label: "(1-5)", "[1–5]", "(out of 5)", "on a 1-5 scale", "on a scale of 1 to 5".
    private const string ScaleNote = @"(?:\s*[(\[]\s*(?:out\s+of\s+5|on\s+a\s+scale\s+of\s+1\s*(?:-|–|—|to)\s*5|1\s*(?:-|–|—|to)\s*5|/5)\s*[)\]])?(?:\s*(?:on|in)\s+(?:a|the)\s+(?:1\s*(?:-|–|—|to)\s*5\s+scale|scale\s+(?:of|from)\s+1\s*(?:-|–|—|to)\s*5))?";

    private const string Connector = @"\s*[*_]*\s*(?:(?:is|was|of|would\s+be|will\s+be|should\s+be|stands\s+at|comes\s+to|equals|remains|=|:|[-–—](?=\s)|→)\s*)+[*_]*\s*(?:(?:a|an)\s+)?";

    [GeneratedRegex(@"(?:final|overall)\s+(?:score|rating|grade|verdict|assessment)(?!s)" + ScaleNote + Connector + Value, RegexOptions.IgnoreCase)]
    private static partial Regex FinalScore();

    [GeneratedRegex(@"final\s+score", RegexOptions.IgnoreCase)]
    private static partial Regex FinalScorePhrase();

    // Final-score sentences in the languages judges drift into: French, German, Spanish, Portuguese, Italian, Dutch, Chinese, Japanese.
    [GeneratedRegex(@"(?:note\s+finale|score\s+final|punt(?:uación|uacion|eggio)\s+final[e]?|calificación\s+final|calificacion\s+final|pontuação\s+final|pontuacao\s+final|nota\s+final[e]?|valutazione\s+finale|endgültige\s+(?:Bewertung|Punktzahl|Note)|Endbewertung|Endnote|Gesamtbewertung|eindscore|最终得分|最终评分|最终分数|最終スコア|最終評価)\s*[*_]*\s*(?:(?:est|ist|es|é|è|is|de|du|:|：|=|为|は|-|–|—)\s*)*[*_]*\s*(?:(?:de|di|von|un|une|a)\s+)?" + Value, RegexOptions.IgnoreCase)]
    private static partial Regex ForeignFinalScore();

    // A line that is only a score label: "Score: 4", "**Rating:** 4/5", "Verdict — 3".
    [GeneratedRegex(@"^[ \t>\-*_#]*(?:final\s+|overall\s+)?(?:score|rating|grade|verdict)[ \t]*[*_]*[ \t]*(?:[:=\-–—]|is)[ \t]*[*_]*[ \t]*" + Value + @"[ \t*_.!]*(?:[ \t][-–—][ \t][^\n]*)?$", RegexOptions.IgnoreCase | RegexOptions.Multiline)]
    private static partial Regex LabelledLine();

    // "I would rate this 4/5", "I give it a 3", "I'd score the answer a 2 out of 5", "I assign a score of 4".
    [GeneratedRegex(@"\bI(?:\s+would|'d|’d|\s+will)?\s+(?:give|assign|award|rate|score|grade)\s+(?:(?:it|this(?:\s+(?:answer|response|item))?|the\s+(?:answer|response|item))\s+)?(?:(?:a|an)\s+)?(?:(?:final\s+)?(?:score|rating|grade)\s+(?:of\s+)?)?" + Value, RegexOptions.IgnoreCase)]
    private static partial Regex FirstPersonScore();

    // "The score is 3.", "My rating: 4".
    [GeneratedRegex(@"\b(?:the|my)\s+(?:score|rating|grade)\s+(?:here\s+)?(?:is|=|:)\s*" + Value, RegexOptions.IgnoreCase)]
    private static partial Regex TheScoreIs();

    // "This response deserves a 4", "it earns a score of 3".
    [GeneratedRegex(@"\b(?:deserves|merits|earns|warrants|receives)\s+(?:(?:a|an)\s+)?(?:(?:score|rating|grade)\s+(?:of\s+)?)?" + Value, RegexOptions.IgnoreCase)]
    private static partial Regex Deserves();

    // "3 out of 5", "4/5": a score with its scale said.
    [GeneratedRegex(@"(?<![\d.,/\-–])(?<value>\d+(?:[.,]\d+)?)[ \t]*(?:/|out[ \t]+of)[ \t]*(?<scale>5)(?![\d.,]\d|\d|/|[ \t]+of\b)", RegexOptions.IgnoreCase)]
    private static partial Regex OutOfFive();

    // A verdict that is only a score ("4", "**4/5**"), as terse judges write after a header ("Item 1: 4").
    [GeneratedRegex(@"^[\s*_`""'(\[]*(?<value>[-+]?\d+(?:[.,]\d+)?)\s*(?:(?:/|out\s+of)\s*(?<scale>\d+))?[\s*_`""')\].!]*$", RegexOptions.IgnoreCase)]
    private static partial Regex BareScore();

    // A verdict that opens with its score and a dash: "4 - uses the persona's jargon throughout".
    [GeneratedRegex(@"^[\s*_]*(?<value>[1-5])(?:\s*/\s*(?<scale>5))?[*_]*[ \t]+[-–—][ \t]+(?![*_]*\d)\S", RegexOptions.IgnoreCase)]
    private static partial Regex LeadingScore();

    // After a number: a second one that makes it a range or a choice ("3 - 4", "3~4", "4 (or 5)", "3, maybe 4",
    // "3 ou 4", "de 3 a 4", "3 oder 4", "3或4", "3到4").
    [GeneratedRegex(@"^(?:[ \t]*[(\[][ \t]*(?:(?:[-–—~～]|to|or|ou|oder|bis|或|到|至|maybe|perhaps|possibly|probably|if[ \t]+not)[ \t]*)+[*_]*\d|[ \t]*(?:(?:[-–—~～]|to|or|and|ou|oder|o|a|bis|à|或|到|至|,|maybe|perhaps|possibly|probably|even|if[ \t]+not)[ \t]*)+[*_]*\d|[ \t]*\d)", RegexOptions.IgnoreCase)]
    private static partial Regex RangeTail();


    // What may close a statement's number: emphasis, quotes, a bracket ("**4**", "[[4]]").
    [GeneratedRegex(@"^(?:\}\$*|\\\)|\$)?[*_`""'\]]*")]
    private static partial Regex ValueClose();

    // A number that ends its statement: end of line or sentence, a scale, a dash before a comment, a bracket, a reason.
    [GeneratedRegex(@"^[ \t]*(?:$|\n|[.,;:!?)\]]|[-–—](?:[ \t]|$)|\(|(?:/|out[ \t]+of|of)[ \t]*(?:\d|five\b)|(?:because|since|as|given|overall)\b)", RegexOptions.IgnoreCase)]
    private static partial Regex StatementEnd();

    // Labels that open prose rather than a number: "Overall assessment:", "Final verdict —".
    [GeneratedRegex(@"\b(?:assessment|verdict)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ProseLabel();

    // "…, so a final score of 4 feels generous", "would thus earn a final score of 5": a score weighed, not given.
    [GeneratedRegex(@"\b(?:a|an)[ \t]+$", RegexOptions.IgnoreCase)]
    private static partial Regex IndefiniteBefore();

    // Words that conclude: what follows them is the statement's own clause.
    [GeneratedRegex(@"\b(?:therefore|thus|hence|consequently|accordingly|so(?=[ \t]*,|[ \t]+(?:the|a|an|my|I|I'd|I'll|this|that|it|its|overall|in\s+the\s+end)\b))\b", RegexOptions.IgnoreCase)]
    private static partial Regex ConclusionWord();

    // A score word near a number from 1 to 5, or "N/5": what a headerless verdict's score looks like, read or not.
    [GeneratedRegex(@"\b(?:score|rating|grade|rated?)\b[^.\n]{0,20}?(?<![\d.])(?:[1-5]|one|two|three|four|five)\b(?![.,]\d)|(?<![\d.])[1-5][ \t]*(?:/|out[ \t]+of)[ \t]*5\b", RegexOptions.IgnoreCase)]
    private static partial Regex ScoreMention();

    // A revision cue and the score it moves to, within the sentence.
    [GeneratedRegex(@"(?:→|->|=>|\bor\s+rather\b|\bactually\b|\bon\s+(?:reflection|second\s+thought)|\bre-?(?:considering|reading|thinking)\b|\bEdit:|\b(?:lower(?:ed|ing)?|rais(?:e|ed|ing)|bump(?:ed)?|drop(?:ped)?|adjust(?:ed)?|revis(?:e|ed|ing)|chang(?:e|ed|ing)|bring(?:s)?|brought)\b[^.\n\d]{0,30}?\b(?:to|down\s+to|up\s+to)\b)[^.\n\d]{0,40}?(?<![\d.])(?<value>[1-5]|one|two|three|four|five)\b(?![.,]\d)", RegexOptions.IgnoreCase)]
    private static partial Regex Revision();

    // A scale written after the number in words or brackets: "3 (out of 10)", "4 out of a possible 10", "**4**/**10**".
    [GeneratedRegex(@"(?:final\s+score|score|rating|grade)\b[^\n]{0,20}?\d+[ \t]*[*_]*[ \t]*(?:\([ \t]*(?:out[ \t]+of|of|/)[ \t]*(?<scale>\d+)[ \t]*\)|out[ \t]+of[ \t]+a[ \t]+(?:possible|maximum[ \t]+of)[ \t]+(?<scale>\d+)|/[ \t]*[*_]+(?<scale>\d+))", RegexOptions.IgnoreCase)]
    private static partial Regex OtherScale();

    [GeneratedRegex(@"\d")]
    private static partial Regex SecondNumber();

    // Words whose full stop ends no sentence.
    [GeneratedRegex(@"(?:\b(?:Dr|Mr|Mrs|Ms|St|Jr|Sr|Prof|vs|etc|approx|No|e\.g|i\.e)\.|\.\.|…)$", RegexOptions.IgnoreCase)]
    private static partial Regex Abbreviation();

    [GeneratedRegex(@"\d'\d{1,2}$")]
    private static partial Regex InchMark();

    [GeneratedRegex(@"^[^\n]*\b(?:overall|average|mean|on\s+the\s+whole|across\s+(?:all|the)\s+(?:items|answers|responses))\b[^\n]*$", RegexOptions.IgnoreCase | RegexOptions.Multiline)]
    private static partial Regex OverallLine();

    // A summary line or paragraph after headerless verdicts.
    [GeneratedRegex(@"^[\s*_#>-]*(?:overall|on\s+average|average|in\s+summary|summary|in\s+total|mean)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ClosingUnit();

    [GeneratedRegex(@"\n[ \t]*\n\s*")]
    private static partial Regex BlankLines();

    [GeneratedRegex(@"\b(?:if|unless|had\s+(?:it|the|this|she|he|they)|were\s+(?:it|the|this)|but\s+for|otherwise|with\s+(?:a|an|more|less|some|stronger|better)|without|could|might|may|would(?<!\bI\s+would)|wouldn't|needs?\s+to|needed|requires?|required|in\s+order\s+to|to\s+(?:earn|reach|get|achieve|deserve|merit|warrant|justify|receive)|closer\s+to|rather\s+than|instead\s+of|than|not|n't|never|no\s+longer|initially|at\s+first|originally|was\s+going\s+to|considered|considering|example|examples|exemplar|reserved|only\s+for|such\s+as|e\.g\.|like\s+the|compared|previous(?:ly)?|other\s+item|item\s+\d|question\s+\d|response\s+\d)\b|\bI'd\s+(?:need|want|require)", RegexOptions.IgnoreCase)]
    private static partial Regex HypotheticalMarker();

    [GeneratedRegex(@"^[\s*_,]*(?:would|could|might|may|if|unless|requires?|needs?|is\s+(?:reserved|only|for|what)|are\s+(?:reserved|for)|wouldn't|isn't|is\s+not|was\s+not|seems?\s+too|feels?\s+too|is\s+too)\b", RegexOptions.IgnoreCase)]
    private static partial Regex HypotheticalTail();

    [GeneratedRegex(@"^(?:since|because|but|although|though|while|whereas|as\s+|which|so\s+that|unless|if)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ClauseConnector();

    // "### Item 2", "**Item 2:**", "Item 2 -", "- **Item 2**: text", "## Evaluation of Item 2".
    [GeneratedRegex(@"^[ \t>]*(?<hash>#{1,6}[ \t]*)?(?:[-*+•][ \t]+)?[*_]{0,3}[ \t]*(?:(?:verdict|evaluation|assessment|grading|analysis|judgement|judgment)[ \t]+(?:for|of)[ \t]+)?Item[ \t]*#?[ \t]*(?<n>\d{1,3})(?!\d|[.,]\d)[ \t]*(?<close>[*_]{0,3})[ \t]*(?<sep>[:.)=\-–—][*_]{0,3})?(?<rest>[^\n]*)$", RegexOptions.IgnoreCase)]
    private static partial Regex HeaderLine();

    // "## Summary", "**Overall**", "Summary:" on a line of its own, after the verdicts.
    [GeneratedRegex(@"^[ \t]*(?:#{1,6}[ \t]*[*_]*[ \t]*(?:summary|overall|conclusion|final\s+scores|scores|in\s+summary)\b.*|[*_]{2}[ \t]*(?:summary|overall(?:\s+summary)?|conclusion|final\s+scores|scores)[ \t]*:?[ \t]*[*_]{2}:?[ \t]*|(?:summary|overall|conclusion|final\s+scores|scores|in\s+summary|here\s+are\s+(?:the|my)\s+(?:final\s+)?scores)[ \t]*:[ \t]*)$", RegexOptions.IgnoreCase)]
    private static partial Regex ClosingHeading();

    // The failures ExtractScore gives for a score above the scale ("the score 8 is outside…", "the score 8/10 is not on…").
    [GeneratedRegex(@"^the score (?<value>\d+)(?:/(?<scale>\d+) is not on| is outside)")]
    private static partial Regex AboveScale();

    [GeneratedRegex(@"^[ \t>\-*•]*[*_]*Item[ \t]*#?(?<n>\d{1,3})[*_]*[ \t]*[:=\-–—][*_]*[ \t]*[*_]*(?<score>[-+]?\d+(?:[.,]\d+)?(?:[ \t]*/[ \t]*\d+)?)[*_]*[ \t.]*$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex SummaryLine();

    [GeneratedRegex(@"^[ \t]*[*_]{0,2}(?<n>\d{1,2})[.)][*_]{0,2}[ \t]+", RegexOptions.None)]
    private static partial Regex NumberedLine();

    [GeneratedRegex(@"^(?:item|answer|response)?[ _#-]*(?<n>\d{1,3})$", RegexOptions.IgnoreCase)]
    private static partial Regex ItemKey();

    [GeneratedRegex(@"^(?:#|no\.?|item(?:\s*#)?|items?)$", RegexOptions.IgnoreCase)]
    private static partial Regex TableItemHeader();

    [GeneratedRegex(@"^[*_]*(?:final\s+)?(?:score|rating|grade)(?:\s*\(1\s*[-–]\s*5\))?[*_]*$", RegexOptions.IgnoreCase)]
    private static partial Regex TableScoreHeader();

    [GeneratedRegex(@"^:?-{2,}:?$")]
    private static partial Regex TableRule();

    [GeneratedRegex(@"```[ \t]*(?:json|JSON)?[ \t]*\n(?<body>.*?)\n[ \t]*```", RegexOptions.Singleline)]
    private static partial Regex JsonFence();

    [GeneratedRegex(@"\b(?:I\s+(?:cannot|can't|can’t|won't|am\s+unable|'m\s+unable|’m\s+unable)|I'm\s+sorry|I’m\s+sorry|I\s+apologi[sz]e|as\s+an\s+AI|unable\s+to\s+(?:grade|evaluate|assess|provide))", RegexOptions.IgnoreCase)]
    private static partial Regex RefusalPattern();
}
