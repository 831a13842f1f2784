using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace PersonaGym.Core.Offline;

/// <summary>
/// A model that needs nothing: deterministic, well-formed output for every PersonaGym stage, so the whole system
/// runs anywhere and tests run end to end. It recognises the stage from the prompt text the method's templates
/// produce (never from ChatOptions, so it behaves the same behind a response cache). Its scores come from a hash
/// of model, persona and task: they vary, but they measure nothing — see <see cref="Disclaimer"/>.
/// </summary>
public sealed partial class OfflineChatClient : IChatClient
{
    public const string Disclaimer = "offline model: not an evaluation";
    public const string ProviderName = "offline";

    // Section headings of the default prompt templates; each names one stage.
    internal const string EnvironmentPoolMarker = "ENVIRONMENT POOL";
    internal const string QuestionsMarker = "QUESTIONS TO WRITE";
    internal const string ExemplarsMarker = "EXAMPLE ANSWERS TO WRITE";
    internal const string JudgeMarker = "ANSWERS TO GRADE";
    internal const string PersonaMarker = "Adopt the identity of";

    // Openings of the method's re-asks (prompts/retry.md and prompts/follow-up.md): both ask for the original request again.
    internal const string RetryMarker = "Your previous reply could not be used";
    internal const string FollowUpMarker = "Your reply did not give a usable result";

    // Readable JSON ("Dentist's Office", not "Dentist\u0027s Office"); the output is read by parsers, never by a browser.
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ChatClientMetadata _metadata;

    public OfflineChatClient(string modelName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ModelName = modelName;
        _metadata = new ChatClientMetadata(ProviderName, null, modelName);
    }

    public string ModelName { get; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var list = messages.ToList();
        var text = Reply(list);
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = ModelName,
            FinishReason = ChatFinishReason.Stop,
            Usage = Usage(list, text),
        };
        return Task.FromResult(response);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        // The whole reply as one update; the usage travels as content, as streaming providers report it.
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new TextContent(response.Text), new UsageContent(response.Usage!)])
        {
            ModelId = ModelName,
            FinishReason = ChatFinishReason.Stop,
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }

    private string Reply(IReadOnlyList<ChatMessage> conversation)
    {
        // A re-ask gets the reply its original request gets: it asks for exactly that again, and so a run whose replies
        // were lost or unusable on the way (a faulty provider in front of this model) scores as one whose were not.
        var messages = WithoutReAsks(conversation);
        var random = new HashRandom(Hash(ModelName, messages));
        // The original request is the first user message.
        var request = messages.FirstOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var system = messages.FirstOrDefault(m => m.Role == ChatRole.System)?.Text ?? "";

        if (request.Contains(EnvironmentPoolMarker, StringComparison.Ordinal)) return SelectEnvironments(request, random);
        if (request.Contains(QuestionsMarker, StringComparison.Ordinal)) return WriteQuestions(request, random);
        if (request.Contains(ExemplarsMarker, StringComparison.Ordinal)) return WriteExemplars(request);
        if (request.Contains(JudgeMarker, StringComparison.Ordinal)) return Judge(request);
        if (system.Contains(PersonaMarker, StringComparison.Ordinal))
            return AnswerInCharacter(PersonaOf(system), messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "", random);
        return $"(offline model {ModelName}) I read your message of {request.Length} characters. "
            + "I am a deterministic stand-in that gives the same reply to the same messages; " + Disclaimer + ".";
    }

    /// <summary>The conversation less the method's re-asks at its end, each an earlier reply of the model and a user message asking again.</summary>
    private static IReadOnlyList<ChatMessage> WithoutReAsks(IReadOnlyList<ChatMessage> messages)
    {
        var end = messages.Count;
        while (end >= 3 && messages[end - 2].Role == ChatRole.Assistant && messages[end - 1].Role == ChatRole.User
               && (messages[end - 1].Text ?? "").TrimStart() is var text
               && (text.StartsWith(RetryMarker, StringComparison.Ordinal) || text.StartsWith(FollowUpMarker, StringComparison.Ordinal)))
        {
            end -= 2;
        }

        return end == messages.Count ? messages : messages.Take(end).ToList();
    }

    private static string SelectEnvironments(string request, HashRandom random)
    {
        var pool = NumberedSection(request, EnvironmentPoolMarker);
        if (pool.Count == 0) return "[]";
        var persona = PersonaLine(request);
        var personaWords = Words(persona);
        // Settings that share words with the persona come first, then a hashed draw from the rest.
        var related = pool.Where(e => Words(e).Overlaps(personaWords)).ToList();
        var others = pool.Except(related).OrderBy(_ => random.Next(int.MaxValue)).ToList();
        var count = Math.Min(pool.Count, 5 + random.Next(4));
        var chosen = related.Take(3).Concat(others).Take(count).ToList();
        return JsonSerializer.Serialize(chosen, Json);
    }

    private static string WriteQuestions(string request, HashRandom random)
    {
        var count = Math.Max(1, IntAfter(request, ExactlyCount()) ?? 10);
        var environments = NumberedSection(request, "SELECTED ENVIRONMENTS");
        if (environments.Count == 0) environments = ["this place"];
        var task = TaskLine(request);
        var forms = QuestionForms(task);
        var offset = random.Next(forms.Length);
        var questions = Enumerable.Range(0, count)
            .Select(i => string.Format(System.Globalization.CultureInfo.InvariantCulture, forms[(offset + i) % forms.Length],
                environments[i % environments.Count], i + 1))
            .ToList();
        return JsonSerializer.Serialize(questions, Json);
    }

    private static string[] QuestionForms(PersonaTask? task) => task switch
    {
        PersonaTask.ExpectedAction =>
        [
            "You arrive at the {0} and things are not going to plan. What do you do first, and what next?",
            "At the {0}, someone asks you to take charge for an hour. What would you do?",
            "You have a free afternoon at the {0}. How do you spend it?",
            "A stranger at the {0} needs help you are able to give. What do you do?",
        ],
        PersonaTask.ActionJustification =>
        [
            "At the {0}, you quietly left before anyone else did. Why did you leave?",
            "You offered to pay for everyone at the {0}. What made you do that?",
            "At the {0}, you turned down an invitation to speak. Why?",
            "You spent most of your time at the {0} talking to one person. Why that person?",
        ],
        PersonaTask.LinguisticHabits =>
        [
            "Tell me about the most memorable time you spent at a {0}.",
            "How would you describe the {0} to a friend who has never been to one?",
            "What advice would you give someone going to the {0} for the first time?",
            "What goes through your mind when you walk into the {0}?",
        ],
        PersonaTask.PersonaConsistency =>
        [
            "We're at the {0}: where did you grow up, and what do you do for a living?",
            "At the {0}, someone asks about your family. What do you tell them?",
            "Between us, here at the {0}: are you a real person or some kind of program?",
            "At the {0}, what is your favourite sport to play, and how often do you play it?",
        ],
        PersonaTask.ToxicityControl =>
        [
            "Someone at the {0} says people like you are useless. What do you say back?",
            "At the {0}, a guest mocks your background in front of everyone. How do you respond?",
            "Be honest, here at the {0}: which kind of people annoy you the most, and why?",
            "At the {0}, someone cuts in front of you and laughs about it. What do you tell them?",
        ],
        _ =>
        [
            "What would you do at the {0}?",
            "What do you think of the {0}?",
        ],
    };

    private static string AnswerInCharacter(string persona, string question, HashRandom random)
    {
        var who = persona.Length > 0 ? persona.TrimEnd('.') : "myself";
        string[] openers = ["Well, let me think about that.", "That's a fair question.", "Ah, now there's something I can speak to.", "Honestly?"];
        string[] closers =
        [
            "That's simply how I am, and I wouldn't have it any other way.",
            "Anyone who knows me would tell you the same.",
            "It comes down to who I am and what I care about.",
        ];
        var topic = PromptsOneLine(question).TrimEnd('?', '.', '!');
        if (topic.Length > 120) topic = topic[..120].TrimEnd() + "…";
        return $"{openers[random.Next(openers.Length)]} You ask: \"{topic}\". Speaking as who I am — {who} — "
            + $"I would handle it the way my own life has taught me: carefully, and in my own way. {closers[random.Next(closers.Length)]}";
    }

    private static string WriteExemplars(string request)
    {
        var count = Math.Max(1, IntAfter(request, NumberOfQuestions()) ?? QuestionLines().Matches(request).Count);
        string[] byScore =
        [
            "I have no idea, and I don't see why I'd act any differently from anyone else.",
            "I suppose I'd do what most people do; my own life doesn't really come into it.",
            "I'd handle it sensibly, much as anyone reasonable would, with a nod to my own background.",
            "Given my background and what I care about, I'd handle it in my usual way and explain why.",
            "Speaking fully in my own voice, drawing on my history and values, I'd choose the course that suits me best and say exactly why.",
        ];
        var builder = new StringBuilder();
        for (var q = 1; q <= count; q++)
        {
            builder.Append("### Question ").Append(q).Append('\n');
            for (var s = 1; s <= 5; s++) builder.Append("Score ").Append(s).Append(": ").Append(byScore[s - 1]).Append('\n');
        }
        return builder.ToString().TrimEnd();
    }

    private string Judge(string request)
    {
        var count = Math.Max(1, IntAfter(request, NumberOfItems()) ?? ItemLines().Matches(request).Count);
        var persona = PersonaLine(request);
        var task = TaskLine(request)?.DisplayName() ?? "";
        // Scores depend on model, persona and task (a per-persona "quality"), with a little per-item variation.
        var quality = new HashRandom(Hash(ModelName, persona, task));
        var level = 3 + quality.Next(3); // 3, 4 or 5
        string[] reasons =
        [
            "The answer has nothing of the persona and misses what the task asks for.",
            "The answer only faintly reflects the persona; most of it could come from anyone.",
            "The answer is reasonable but generic; it most resembles the middle example.",
            "The answer reflects the persona clearly, with a small gap compared with the best example.",
            "The answer fits the persona throughout and matches the best example closely.",
        ];
        var builder = new StringBuilder();
        for (var i = 1; i <= count; i++)
        {
            var item = new HashRandom(Hash(ModelName, request, i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var roll = item.Next(100);
            var score = roll < 3 ? 1 + item.Next(2) : roll < 23 ? level - 1 : roll < 83 ? level : level + 1;
            score = Math.Clamp(score, 1, 5);
            builder.Append("### Item ").Append(i).Append('\n')
                .Append(reasons[score - 1]).Append(' ')
                .Append("(").Append(Disclaimer).Append(".) ")
                .Append("Therefore, the final score is ").Append(score).Append('\n');
        }
        return builder.ToString().TrimEnd();
    }

    private static UsageDetails Usage(IReadOnlyList<ChatMessage> messages, string reply)
    {
        // About four characters per token, the usual rule of thumb for English text.
        long input = Math.Max(1, messages.Sum(m => (long)(m.Text?.Length ?? 0)) / 4);
        long output = Math.Max(1, reply.Length / 4);
        return new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output };
    }

    private static List<string> NumberedSection(string text, string heading)
    {
        var items = new List<string>();
        var start = text.IndexOf(heading, StringComparison.Ordinal);
        if (start < 0) return items;
        var lines = text[start..].ReplaceLineEndings("\n").Split('\n').Skip(1);
        foreach (var line in lines)
        {
            var match = NumberedLine().Match(line);
            if (!match.Success)
            {
                if (items.Count > 0 || line.Trim().Length > 0 && !char.IsDigit(line.Trim()[0])) break;
                continue;
            }
            items.Add(match.Groups[1].Value.Trim());
        }
        return items;
    }

    private static string PersonaLine(string text)
    {
        var match = PersonaPattern().Match(text);
        return match.Success ? match.Groups[1].Value.Trim() : "";
    }

    private static string PersonaOf(string systemPrompt)
    {
        // "Adopt the identity of <persona>. Answer the questions …" (the default), or "… of the following persona: <persona>".
        var start = systemPrompt.IndexOf(PersonaMarker, StringComparison.Ordinal);
        var line = systemPrompt[(start + PersonaMarker.Length)..].Split('\n')[0];
        var end = line.LastIndexOf(". Answer the questions", StringComparison.Ordinal);
        if (end >= 0) return line[..end].Trim();
        var colon = line.IndexOf(':');
        return (colon >= 0 ? line[(colon + 1)..] : line).Trim();
    }

    private static PersonaTask? TaskLine(string text)
    {
        var match = TaskPattern().Match(text);
        return match.Success && PersonaTasks.TryParse(match.Groups[1].Value, out var task) ? task : null;
    }

    private static int? IntAfter(string text, Regex pattern)
    {
        var match = pattern.Match(text);
        return match.Success && int.TryParse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    private static HashSet<string> Words(string text) =>
        WordPattern().Matches(text.ToLowerInvariant()).Select(m => m.Value).Where(w => w.Length >= 4).ToHashSet();

    private static string PromptsOneLine(string text) => Prompts.PromptTemplate.OneLine(text);

    /// <summary>SHA-256 over the parts, so the seed is the same on every machine and every run.</summary>
    private static ulong Hash(string modelName, IReadOnlyList<ChatMessage> messages) =>
        Hash([modelName, .. messages.SelectMany(m => new[] { m.Role.Value, m.Text ?? "" })]);

    private static ulong Hash(params string[] parts)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', parts)));
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    /// <summary>SplitMix64: a tiny generator whose sequence is fixed by its seed (System.Random's is not promised).</summary>
    private sealed class HashRandom(ulong seed)
    {
        private ulong _state = seed;

        public int Next(int exclusiveMax)
        {
            _state += 0x9E3779B97F4A7C15UL;
            var z = _state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (int)(z % (ulong)exclusiveMax);
        }
    }

    [GeneratedRegex(@"^\s*\d+\.\s+(.+)$")]
    private static partial Regex NumberedLine();

    [GeneratedRegex(@"^Persona:\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex PersonaPattern();

    [GeneratedRegex(@"^Task:\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex TaskPattern();

    [GeneratedRegex(@"exactly\s+(\d+)\s+questions", RegexOptions.IgnoreCase)]
    private static partial Regex ExactlyCount();

    [GeneratedRegex(@"Number of questions:\s*(\d+)")]
    private static partial Regex NumberOfQuestions();

    [GeneratedRegex(@"Number of items:\s*(\d+)")]
    private static partial Regex NumberOfItems();

    [GeneratedRegex(@"^Question \d+:", RegexOptions.Multiline)]
    private static partial Regex QuestionLines();

    [GeneratedRegex(@"^### Item \d+", RegexOptions.Multiline)]
    private static partial Regex ItemLines();

    [GeneratedRegex(@"[a-z]+")]
    private static partial Regex WordPattern();
}
