using Microsoft.Extensions.AI;
using PersonaGym.Core.Parsing;
using PersonaGym.Core.Prompts;

namespace PersonaGym.Core;

/// <summary>
/// The PersonaGym method as stage functions, one model step each (paper §3.2–3.3): environment selection,
/// question generation, persona answers, rubric exemplars and judging. Output that cannot be parsed is re-asked
/// a bounded number of times; each re-ask shows the model its rejected reply and the reason, so the retry is a
/// different request (a response cache would otherwise hand back the same rejected text).
/// </summary>
public sealed class PersonaGymMethod(MethodAssets assets, MethodOptions options)
{
    public MethodAssets Assets { get; } = assets;

    public MethodOptions Options { get; } = options;

    /// <summary>
    /// Chooses the pool environments that suit the persona. Names the model invents are dropped and listed in
    /// <see cref="StageResult{T}.Rejected"/> with the reason "not in the environment pool"; the stage fails only when none match.
    /// </summary>
    public Task<StageResult<IReadOnlyList<string>>> SelectEnvironmentsAsync(IChatClient client, string persona, CancellationToken ct = default) =>
        SelectEnvironmentsAsync(client, persona, null, ct);

    /// <summary>As above, from <paramref name="pool"/> instead of the method's own pool (null: <see cref="MethodAssets.Environments"/>).</summary>
    public async Task<StageResult<IReadOnlyList<string>>> SelectEnvironmentsAsync(IChatClient client, string persona, IReadOnlyList<string>? pool,
        CancellationToken ct = default)
    {
        pool ??= Assets.Environments;
        var prompt = RenderSelectEnvironments(persona, pool);
        IReadOnlyList<RejectedOutput> unknown = [];
        var result = await RunAsync(client, MethodStages.Environments, [new ChatMessage(ChatRole.User, prompt)],
            MethodChatOptions.ForGeneration(MethodStages.Environments, Options.MaxOutputTokens), Options.MaxParseAttempts,
            text =>
            {
                var parsed = EnvironmentMatcher.Parse(text, pool);
                if (!parsed.IsSuccess) return ParseResult<IReadOnlyList<string>>.Fail(parsed.Failure);
                unknown = parsed.Value.Unknown.Select(n => new RejectedOutput(n, "not in the environment pool")).ToList();
                return ParseResult<IReadOnlyList<string>>.Success(parsed.Value.Matched);
            }, ct).ConfigureAwait(false);
        return unknown.Count == 0 ? result : result with { Rejected = [.. result.Rejected, .. unknown] };
    }

    /// <summary>
    /// Writes exactly <paramref name="count"/> questions for one task, set in the given environments. A list of any
    /// other length is rejected and re-asked, up to <see cref="MethodOptions.MaxQuestionAttempts"/> calls (reference code: 5).
    /// </summary>
    public Task<StageResult<IReadOnlyList<string>>> GenerateQuestionsAsync(IChatClient client, string persona, PersonaTask task,
        IReadOnlyList<string> environments, int count, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var prompt = RenderGenerateQuestions(persona, task, environments, count);
        return RunAsync(client, MethodStages.Questions, [new ChatMessage(ChatRole.User, prompt)],
            MethodChatOptions.ForGeneration(MethodStages.Questions, Options.MaxOutputTokens), Math.Max(1, Options.MaxQuestionAttempts),
            text =>
            {
                var parsed = ListParser.Parse(text);
                if (!parsed.IsSuccess) return parsed;
                return parsed.Value.Count == count
                    ? parsed
                    : ParseResult<IReadOnlyList<string>>.Fail($"expected exactly {count} questions, got {parsed.Value.Count}");
            }, ct);
    }

    /// <summary>
    /// The persona agent answers one question, with the persona prompt as its system message. A reply with nothing to
    /// read (empty, whitespace, or only invisible characters such as zero-width spaces) is no answer and is re-asked:
    /// judged, it would score the persona on nothing.
    /// </summary>
    public Task<StageResult<string>> AnswerAsync(IChatClient agent, string persona, string question, CancellationToken ct = default)
    {
        List<ChatMessage> messages =
        [
            new(ChatRole.System, RenderPersonaSystem(persona)),
            new(ChatRole.User, question),
        ];
        return RunAsync(agent, MethodStages.Answer, messages, MethodChatOptions.ForAgent(Options.AgentTemperature, Options.AgentTopP, Options.MaxOutputTokens),
            Options.MaxParseAttempts,
            text => ReplyText.IsBlank(text)
                ? ParseResult<string>.Fail("the answer is empty")
                : ParseResult<string>.Success(text.Trim()), ct);
    }

    /// <summary>
    /// Writes, for each question of a batch (at most <see cref="MethodOptions.MaxBatchSize"/>), one example answer per
    /// score 1..5, in one deterministic call (paper: one call per batch of 5). Questions whose examples are missing or
    /// incomplete are asked for again, those only, in at most <see cref="MethodOptions.MaxParseAttempts"/> calls in all;
    /// every question must end up with all five.
    /// </summary>
    public async Task<StageResult<IReadOnlyList<RubricExemplars>>> WriteExemplarsAsync(IChatClient client, string persona, PersonaTask task,
        IReadOnlyList<string> questions, CancellationToken ct = default)
    {
        CheckBatch(questions.Count, nameof(questions));
        var prompt = RenderWriteExemplars(persona, task, questions);
        var filled = await FillItemsAsync(client, [new ChatMessage(ChatRole.User, prompt)],
            MethodChatOptions.Deterministic(MethodStages.Exemplars, Options.OutputTokensFor(questions.Count)), questions.Count,
            "question", "### Question N, then the lines Score 1: … to Score 5: …",
            (text, wanted) => ExemplarParser.Parse(text, questions.Count, wanted)
                .Select((p, i) => new ItemReading<IReadOnlyDictionary<int, string>>(wanted[i], p.IsSuccess ? p.Value : null, p.Failure, ""))
                .ToList(), ct).ConfigureAwait(false);

        var failures = filled.Items.Where(i => i.Value is null).Select(i => $"question {i.Number}: {i.Failure}").ToList();
        if (failures.Count > 0)
        {
            var rejected = filled.Rejected.Count > 0 ? filled.Rejected : [new RejectedOutput(filled.RawOutputs.LastOrDefault() ?? "", string.Join("; ", failures))];
            throw new StageFailedException(MethodStages.Exemplars, rejected, filled.Usage);
        }
        return new StageResult<IReadOnlyList<RubricExemplars>>(
            filled.Items.Select(i => new RubricExemplars(questions[i.Number - 1], i.Value!)).ToList(),
            filled.Attempts, filled.Rejected, filled.RawOutputs[0], filled.Usage);
    }

    /// <summary>
    /// One judge grades a batch in one deterministic call, returning a verdict per item. Items without a usable score
    /// are asked for again, those only and saying why, in at most <see cref="MethodOptions.MaxParseAttempts"/> calls in
    /// all; each follow-up fills only the gaps. Items still without a score are failures with their reason, never 0
    /// (the paper's scoring excludes unparseable scores); when no item has one, the stage fails.
    /// </summary>
    public async Task<StageResult<IReadOnlyList<JudgeVerdict>>> JudgeBatchAsync(IChatClient judge, string persona, PersonaTask task,
        IReadOnlyList<JudgeItem> items, CancellationToken ct = default)
    {
        CheckBatch(items.Count, nameof(items));
        var prompt = RenderJudge(persona, task, items);
        List<ChatMessage> messages =
        [
            new(ChatRole.System, Assets.Prompt(PromptNames.JudgeSystem).Render(new Dictionary<string, string>())),
            new(ChatRole.User, prompt),
        ];
        var filled = await FillItemsAsync(judge, messages,
            MethodChatOptions.Deterministic(MethodStages.Judge, Options.OutputTokensFor(items.Count)), items.Count,
            "item", "### Item N, then your reasoning, ending with \"Therefore, the final score is N\"",
            (text, wanted) => VerdictParser.Parse(text, items.Count, wanted)
                .Select(v => new ItemReading<JudgeVerdict>(v.ItemIndex + 1, v.Score is null ? null : v, v.Failure, v.Reasoning))
                .ToList(), ct).ConfigureAwait(false);

        var verdicts = filled.Items.Select(i => i.Value is { } verdict
                ? verdict with { RawOutput = filled.RawOutputs[i.Round - 1] }
                : new JudgeVerdict(i.Number - 1, null, i.Text, i.Failure) { RawOutput = filled.RawOutputs[i.Round - 1] })
            .ToList();
        if (verdicts.All(v => v.Score is null))
        {
            var reason = "no item has a usable score: " + string.Join("; ", verdicts.Select(v => $"item {v.ItemIndex + 1}: {v.Failure}"));
            throw new StageFailedException(MethodStages.Judge, [.. filled.Rejected.SkipLast(1), new RejectedOutput(filled.RawOutputs[^1], reason)], filled.Usage);
        }
        return new StageResult<IReadOnlyList<JudgeVerdict>>(verdicts, filled.Attempts, filled.Rejected, filled.RawOutputs[0], filled.Usage);
    }

    /// <summary>Splits work into batches of <paramref name="size"/> (default <see cref="MethodOptions.BatchSize"/>; paper: 5), keeping order.</summary>
    public IReadOnlyList<IReadOnlyList<T>> Batch<T>(IReadOnlyList<T> items, int? size = null)
    {
        var batchSize = Math.Clamp(size ?? Options.BatchSize, 1, MethodOptions.MaxBatchSize);
        return items.Chunk(batchSize).Select(chunk => (IReadOnlyList<T>)chunk).ToList();
    }

    // Prompt rendering is public so that tools can show users exactly what a model is sent.

    public string RenderSelectEnvironments(string persona, IReadOnlyList<string>? pool = null)
    {
        pool ??= Assets.Environments;
        return Assets.Prompt(PromptNames.SelectEnvironments).Render(new Dictionary<string, string>
        {
            ["persona"] = PromptTemplate.OneLine(persona),
            ["environment_pool"] = PromptTemplate.NumberedLines(pool),
            ["pool_size"] = pool.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public string RenderGenerateQuestions(string persona, PersonaTask task, IReadOnlyList<string> environments, int count)
    {
        var rubric = Assets.Rubric(task);
        return Assets.Prompt(PromptNames.GenerateQuestions).Render(new Dictionary<string, string>
        {
            ["persona"] = PromptTemplate.OneLine(persona),
            ["task"] = task.DisplayName(),
            ["task_description"] = rubric.Description,
            ["question_guidance"] = rubric.QuestionGuidance,
            ["environments"] = PromptTemplate.NumberedLines(environments),
            ["count"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public string RenderPersonaSystem(string persona) =>
        Assets.Prompt(PromptNames.PersonaSystem).Render(new Dictionary<string, string> { ["persona"] = PromptTemplate.OneLine(persona) });

    public string RenderWriteExemplars(string persona, PersonaTask task, IReadOnlyList<string> questions)
    {
        var rubric = Assets.Rubric(task);
        var listed = string.Join('\n', questions.Select((q, i) => $"Question {i + 1}: {PromptTemplate.OneLine(q)}"));
        return Assets.Prompt(PromptNames.WriteExemplars).Render(new Dictionary<string, string>
        {
            ["persona"] = PromptTemplate.OneLine(persona),
            ["task"] = task.DisplayName(),
            ["task_description"] = rubric.Description,
            ["rubric"] = rubric.RenderLevels(),
            ["questions"] = listed,
            ["question_count"] = questions.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public string RenderJudge(string persona, PersonaTask task, IReadOnlyList<JudgeItem> items)
    {
        var rubric = Assets.Rubric(task);
        var blocks = items.Select((item, i) =>
        {
            var examples = string.Join('\n', Enumerable.Range(1, 5).Select(s =>
                $"Score {s}: {PromptTemplate.OneLine(item.Exemplars.AnswerByScore.TryGetValue(s, out var a) ? a : "(none)")}"));
            // The answer keeps its line breaks (they are part of the persona's style); the heading lines frame it.
            return $"### Item {i + 1}\nQuestion: {PromptTemplate.OneLine(item.Question)}\nAnswer:\n{item.Answer.Trim()}\nExample answers for each score:\n{examples}";
        });
        return Assets.Prompt(PromptNames.Judge).Render(new Dictionary<string, string>
        {
            ["persona"] = PromptTemplate.OneLine(persona),
            ["task"] = task.DisplayName(),
            ["task_description"] = rubric.Description,
            ["rubric"] = rubric.RenderLevels(),
            ["items"] = string.Join("\n\n", blocks),
            ["item_count"] = items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    private static void CheckBatch(int count, string name)
    {
        if (count < 1) throw new ArgumentException("A batch needs at least one item.", name);
        if (count > MethodOptions.MaxBatchSize)
            throw new ArgumentException($"A batch holds at most {MethodOptions.MaxBatchSize} items; use Batch() first.", name);
    }

    /// <summary>What a reply said of one item: its value, or why there is none (and the text read for it).</summary>
    private sealed record ItemReading<T>(int Number, T? Value, string? Failure, string Text) where T : class
    {
        /// <summary>The call (1-based) whose reply gave this reading.</summary>
        public int Round { get; init; } = 1;
    }

    private sealed record FilledItems<T>(IReadOnlyList<ItemReading<T>> Items, int Attempts, IReadOnlyList<RejectedOutput> Rejected,
        IReadOnlyList<string> RawOutputs, UsageDetails? Usage) where T : class;

    /// <summary>
    /// One call for a batch's items, then follow-ups in the same conversation that ask for exactly the items still
    /// without a usable value (naming them and why), whose readings fill only those gaps. A reply cut at the output
    /// limit is never read: all of its items count as missing.
    /// </summary>
    private async Task<FilledItems<T>> FillItemsAsync<T>(IChatClient client, List<ChatMessage> messages, ChatOptions chatOptions,
        int count, string noun, string layout, Func<string, IReadOnlyList<int>, IReadOnlyList<ItemReading<T>>> read, CancellationToken ct)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(client);
        var readings = Enumerable.Range(1, count).Select(n => new ItemReading<T>(n, null, "not asked yet", "")).ToArray();
        var wanted = Enumerable.Range(1, count).ToList();
        var conversation = new List<ChatMessage>(messages);
        var rejected = new List<RejectedOutput>();
        var raws = new List<string>();
        UsageDetails? usage = null;
        var attempts = Math.Max(1, Options.MaxParseAttempts);
        for (var round = 1; round <= attempts && wanted.Count > 0; round++)
        {
            var response = await client.GetResponseAsync(conversation, chatOptions.Clone(), ct).ConfigureAwait(false);
            usage = Add(usage, response.Usage);
            var text = response.Text ?? "";
            raws.Add(text);
            var fresh = response.FinishReason == ChatFinishReason.Length
                ? wanted.Select(n => new ItemReading<T>(n, null, CutReason(chatOptions), "")).ToList()
                : read(text, wanted);
            foreach (var reading in fresh.Where(r => wanted.Contains(r.Number)))
            {
                // A gap is filled by a usable value only; a failure replaces an earlier failure (the newest reason).
                if (reading.Value is not null || readings[reading.Number - 1].Value is null)
                    readings[reading.Number - 1] = reading with { Round = round };
            }

            wanted = readings.Where(r => r.Value is null).Select(r => r.Number).ToList();
            if (wanted.Count == 0) break;
            var reasons = string.Join('\n', wanted.Select(n => $"- {noun} {n}: {readings[n - 1].Failure}"));
            rejected.Add(new RejectedOutput(text, $"no usable {noun} {Numbers(wanted)}: " + string.Join("; ", wanted.Select(n => $"{noun} {n}: {readings[n - 1].Failure}"))));
            conversation.Add(new ChatMessage(ChatRole.Assistant, text));
            conversation.Add(new ChatMessage(ChatRole.User, Assets.Prompt(PromptNames.FollowUp).Render(new Dictionary<string, string>
            {
                ["missing"] = $"{noun}{(wanted.Count == 1 ? "" : "s")} {Numbers(wanted)}",
                ["reasons"] = reasons,
                ["layout"] = layout,
            })));
        }
        return new FilledItems<T>(readings, raws.Count, rejected, raws, usage);
    }

    private static string Numbers(IReadOnlyList<int> numbers) => numbers.Count switch
    {
        1 => numbers[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => string.Join(", ", numbers.SkipLast(1)) + " and " + numbers[^1].ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string CutReason(ChatOptions options) =>
        $"the reply was cut at the output limit ({options.MaxOutputTokens?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "the provider's"} tokens) and is not read";

    private async Task<StageResult<T>> RunAsync<T>(IChatClient client, string stage, List<ChatMessage> messages, ChatOptions chatOptions,
        int maxAttempts, Func<string, ParseResult<T>> parse, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        var rejected = new List<RejectedOutput>();
        UsageDetails? usage = null;
        var conversation = new List<ChatMessage>(messages);
        var attempts = Math.Max(1, maxAttempts);
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            var response = await client.GetResponseAsync(conversation, chatOptions.Clone(), ct).ConfigureAwait(false);
            usage = Add(usage, response.Usage);
            var text = response.Text ?? "";
            // A reply cut at the output limit is never parsed: its end, where the answer or the score is, is missing.
            var parsed = response.FinishReason == ChatFinishReason.Length
                ? ParseResult<T>.Fail(CutReason(chatOptions) + "; reply again, within the limit")
                : parse(text);
            if (parsed.IsSuccess) return new StageResult<T>(parsed.Value, attempt, rejected, text, usage);

            rejected.Add(new RejectedOutput(text, parsed.Failure));
            conversation.Add(new ChatMessage(ChatRole.Assistant, text));
            conversation.Add(new ChatMessage(ChatRole.User,
                Assets.Prompt(PromptNames.Retry).Render(new Dictionary<string, string> { ["reason"] = parsed.Failure })));
        }
        throw new StageFailedException(stage, rejected, usage);
    }

    private static UsageDetails? Add(UsageDetails? total, UsageDetails? more)
    {
        if (more is null) return total;
        var sum = new UsageDetails();
        if (total is not null) sum.Add(total);
        sum.Add(more);
        return sum;
    }
}
