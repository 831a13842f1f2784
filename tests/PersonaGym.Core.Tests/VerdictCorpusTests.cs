using System.Text.Json;
using PersonaGym.Core.Parsing;
using Xunit.Abstractions;

namespace PersonaGym.Core.Tests;

/// <summary>
/// The parsers against the hand-written corpora of judge and exemplar-writer replies (Corpus/README.md): a score or an
/// example read wrong is never acceptable (precision exactly 1.0); how much is read at all is reported, and must stay
/// above a floor so that a parser cannot pass by reading nothing.
/// </summary>
public class VerdictCorpusTests(ITestOutputHelper output)
{
    private static readonly string CorpusFolder = Path.Combine(AppContext.BaseDirectory, "Corpus");

    public sealed record VerdictCase(string Id, string Family, string Style, int Items, string Text, int?[] Expected, string? Note);

    public sealed record ExemplarCase(string Id, string Family, string Style, int Questions, string Text,
        Dictionary<string, string>?[]? Expected, Dictionary<string, string>?[]? ExpectedPrefixes);

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    private static List<T> Read<T>(string file) =>
        File.ReadLines(Path.Combine(CorpusFolder, file)).Where(l => l.Trim().Length > 0)
            .Select(l => JsonSerializer.Deserialize<T>(l, Json)!).ToList();

    [Fact]
    public void The_verdict_corpus_has_at_least_200_cases_in_several_families()
    {
        var cases = Read<VerdictCase>("verdicts.jsonl");
        Assert.True(cases.Count >= 200, $"{cases.Count} cases");
        Assert.True(cases.Select(c => c.Family).Distinct().Count() >= 5);
        Assert.All(cases, c => Assert.Equal(c.Items, c.Expected.Length));
    }

    [Fact]
    public void No_verdict_of_the_corpus_is_read_wrong()
    {
        var cases = Read<VerdictCase>("verdicts.jsonl");
        var wrong = new List<string>();
        var unread = new List<string>();
        int readable = 0, read = 0, items = 0;
        foreach (var c in cases)
        {
            var verdicts = VerdictParser.Parse(c.Text, c.Items);
            Assert.Equal(c.Items, verdicts.Count);
            for (var i = 0; i < c.Items; i++)
            {
                items++;
                var expected = c.Expected[i];
                var actual = verdicts[i].Score;
                if (expected is not null) readable++;
                if (actual is null)
                {
                    if (expected is not null) unread.Add($"{c.Id} item {i + 1}: {verdicts[i].Failure}");
                    continue;
                }
                if (actual == expected) read++;
                else wrong.Add($"{c.Id} item {i + 1}: read {actual}, expected {(expected?.ToString() ?? "no score")} ({c.Note})");
            }
        }

        output.WriteLine($"{cases.Count} replies, {items} items: {read} of {readable} readable scores read ({100.0 * read / readable:0.0} %), {wrong.Count} read wrong.");
        foreach (var line in unread) output.WriteLine("not read: " + line);
        Assert.True(wrong.Count == 0, "Scores read wrong:\n" + string.Join("\n", wrong));
        // A floor, not a target: the corpus is written so that a careful reader gets most of it.
        Assert.True(read >= 0.8 * readable, $"only {read} of {readable} readable scores were read");
    }

    [Fact]
    public void No_exemplar_of_the_corpus_is_read_wrong()
    {
        var cases = Read<ExemplarCase>("exemplars.jsonl");
        Assert.True(cases.Count >= 40, $"{cases.Count} cases");
        var wrong = new List<string>();
        int readable = 0, read = 0;
        foreach (var c in cases)
        {
            var results = ExemplarParser.Parse(c.Text, c.Questions);
            for (var q = 0; q < c.Questions; q++)
            {
                var exact = c.Expected?[q];
                var prefixes = c.ExpectedPrefixes?[q];
                var expected = exact ?? prefixes;
                if (expected is not null) readable++;
                if (!results[q].IsSuccess) continue;
                if (expected is null)
                {
                    wrong.Add($"{c.Id} question {q + 1}: read examples where none should be read");
                    continue;
                }
                var mismatches = Enumerable.Range(1, 5).Where(level =>
                {
                    var got = results[q].Value![level];
                    var want = expected[level.ToString(System.Globalization.CultureInfo.InvariantCulture)];
                    return exact is not null ? got != want : !got.StartsWith(want, StringComparison.Ordinal);
                }).ToList();
                if (mismatches.Count == 0) read++;
                else wrong.Add($"{c.Id} question {q + 1}: level {mismatches[0]} read as \"{results[q].Value![mismatches[0]]}\"");
            }
        }

        output.WriteLine($"{cases.Count} replies: {read} of {readable} readable example sets read ({100.0 * read / readable:0.0} %), {wrong.Count} read wrong.");
        Assert.True(wrong.Count == 0, "Examples read wrong:\n" + string.Join("\n", wrong));
        Assert.True(read >= 0.7 * readable, $"only {read} of {readable} readable example sets were read");
    }
}
