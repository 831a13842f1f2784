using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace PersonaGym.Pipeline.Tests.Support;

/// <summary>
/// A judge that means a score for every answer it grades (from a hash of the answer and its name), remembers it, and
/// writes its reply in one of the layouts real judges drift into (bold or trailing-colon headers, "Item 3 -", JSON, a
/// table, a numbered list, verdicts without headers, "Final score (1-5): 4", a hypothetical after the score, reasoning
/// lines that start with "Response 2" or "Question 1"). It leaves out a share of its verdicts; asked again for some
/// items, it answers those.
/// </summary>
public sealed partial class ScriptedJudge(string name, double omitShare) : IChatClient
{
    /// <summary>The score the judge meant for each answer text.</summary>
    public ConcurrentDictionary<string, int> Meant { get; } = new(StringComparer.Ordinal);

    public int Omitted => _omitted;

    public int FollowUps => _followUps;

    private int _omitted;
    private int _followUps;

    public static readonly string[] Layouts =
        ["canonical", "bold", "colon", "dash", "json", "table", "numbered", "headerless", "range", "hypothetical", "misleading-lines"];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        var request = list.First(m => m.Role == ChatRole.User).Text;
        var answers = ItemAnswer().Matches(request).Select(m => m.Groups["answer"].Value.Trim()).ToList();
        var scores = answers.Select(a => Meant.GetOrAdd(a, text => 1 + (int)(Hash(name, text) % 5))).ToList();

        var userTurns = list.Count(m => m.Role == ChatRole.User);
        var wanted = Enumerable.Range(1, answers.Count).ToList();
        var layout = Layouts[(int)(Hash(name, request) % (ulong)Layouts.Length)];
        if (userTurns > 1)
        {
            Interlocked.Increment(ref _followUps);
            // "…for items 2 and 4 …": a follow-up asks for some items; they come back in the prompt's own layout.
            var asked = list.Last(m => m.Role == ChatRole.User).Text;
            wanted = AskedItems().Match(asked).Groups["numbers"].Value.Split([",", " and "], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToList();
            layout = "canonical";
        }

        var kept = wanted.Where(n => Hash(name, request, userTurns.ToString(CultureInfo.InvariantCulture), n.ToString(CultureInfo.InvariantCulture)) % 10_000 >= omitShare * 10_000).ToList();
        // Layouts without headers cannot leave an item out and stay placeable: there, a left-out item is garbled instead.
        Interlocked.Add(ref _omitted, wanted.Count - kept.Count);
        var text = Write(layout, wanted, kept, scores);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            Usage = new UsageDetails { InputTokenCount = request.Length / 4, OutputTokenCount = text.Length / 4 },
        });
    }

    private static string Write(string layout, List<int> wanted, List<int> kept, List<int> scores)
    {
        var sb = new StringBuilder();
        string Reason(int n) => n % 2 == 0 ? "The answer keeps some of the persona's voice, unlike the example for score 5." : "Concrete and in character for a 61-year-old; 3 details fit.";
        switch (layout)
        {
            case "json":
                sb.Append("```json\n[\n");
                sb.Append(string.Join(",\n", kept.Select(n => $"  {{\"item\": {n}, \"reasoning\": \"{Reason(n)}\", \"score\": {scores[n - 1]}}}")));
                sb.Append("\n]\n```");
                return sb.ToString();
            case "table":
                sb.Append("| Item | Reasoning | Score |\n|---|---|---|\n");
                foreach (var n in kept) sb.Append($"| {n} | {Reason(n)} | **{scores[n - 1]}** |\n");
                return sb.ToString();
            case "numbered":
            case "headerless":
                // Without headers an omission would be unplaceable; the item is written without its score instead.
                foreach (var n in wanted)
                {
                    var prefix = layout == "numbered" ? $"{n}. " : "";
                    sb.Append(prefix).Append(Reason(n)).Append(kept.Contains(n) ? $" Therefore, the final score is {scores[n - 1]}.\n\n" : " It is hard to say more.\n\n");
                }
                return sb.ToString();
        }

        sb.Append("Here are my verdicts.\n\n");
        foreach (var n in kept)
        {
            var score = scores[n - 1];
            sb.Append(layout switch
            {
                "bold" => $"**Item {n}**\n",
                "colon" => $"Item {n}:\n",
                "dash" => $"Item {n} -\n",
                _ => $"### Item {n}\n",
            });
            if (layout == "misleading-lines") sb.Append("Response 2 of the examples is the closest comparison.\nQuestion 1 of the set asked for concrete actions.\n");
            sb.Append(Reason(n)).Append('\n');
            sb.Append(layout switch
            {
                "range" => $"Final score (1-5): {score}\n",
                "hypothetical" => $"Therefore, the final score is {score}. A final score of {(score == 5 ? 4 : 5)} would need more detail.\n",
                _ => $"Therefore, the final score is {score}\n",
            });
        }
        return sb.ToString();
    }

    private static ulong Hash(params string[] parts) =>
        BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', parts))), 0);

    [GeneratedRegex(@"### Item \d+\nQuestion: [^\n]*\nAnswer:\n(?<answer>.*?)\nExample answers for each score:", RegexOptions.Singleline)]
    private static partial Regex ItemAnswer();

    [GeneratedRegex(@"for items? (?<numbers>[\d, and]+?):")]
    private static partial Regex AskedItems();

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates()) yield return update;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

/// <summary>The offline model, except where <see cref="Override"/> gives a reply of its own for a request.</summary>
public abstract class DelegatingChatClientBase(IChatClient inner) : DelegatingChatClient(inner)
{
    protected abstract string? Override(string request);

    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        var reply = Override(list.First(m => m.Role == ChatRole.User).Text);
        return reply is null
            ? base.GetResponseAsync(list, options, cancellationToken)
            : Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, reply)) { Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 10 } });
    }
}
