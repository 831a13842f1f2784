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
    public async Task<StageResult<IReadOnlyList<string>>> SelectEnvironmentsAsync(IChatClient client, string persona, CancellationToken ct = default)
    {
        var prompt = RenderSelectEnvironments(persona);
        IReadOnlyList<RejectedOutput> unknown = [];
        var result = await RunAsync(client, MethodStages.Environments, [new ChatMessage(ChatRole.User, prompt)],
            MethodChatOptions.ForGeneration(MethodStages.Environments), Options.MaxParseAttempts,
            text =>
            {
                var parsed = EnvironmentMatcher.Parse(text, Assets.Environments);
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
            MethodChatOptions.ForGeneration(MethodStages.Questions), Math.Max(1, Options.MaxQuestionAttempts),
            text =>
            {
                var parsed = ListParser.Parse(text);
                if (!parsed.IsSuccess) return parsed;
                return parsed.Value.Count == count
                    ? parsed
                    : ParseResult<IReadOnlyList<string>>.Fail($"expected exactly {count} questions, got {parsed.Value.Count}");
            }, ct);
    }

    /// <summary>The persona agent answers one question, with the persona prompt as its system message.</summary>
    public Task<StageResult<string>> AnswerAsync(IChatClient agent, string persona, string question, CancellationToken ct = default)
    {
        List<ChatMessage> messages =
        [
            new(ChatRole.System, RenderPersonaSystem(persona)),
            new(ChatRole.User, question),
        ];
        return RunAsync(agent, MethodStages.Answer, messages, MethodChatOptions.ForAgent(Options.AgentTemperature),
            Options.MaxParseAttempts,
            text => string.IsNullOrWhiteSpace(text)
                ? ParseResult<string>.Fail("the answer is empty")
                : ParseResult<string>.Success(text.Trim()), ct);
    }

    /// <summary>
    /// Writes, for each question of a batch (at most <see cref="MethodOptions.BatchSize"/>), one example answer per
    /// score 1..5, in one deterministic call (paper: one call per batch of 5). Every question must get all five.
    /// </summary>
    public Task<StageResult<IReadOnlyList<RubricExemplars>>> WriteExemplarsAsync(IChatClient client, string persona, PersonaTask task,
        IReadOnlyList<string> questions, CancellationToken ct = default)
    {
        CheckBatch(questions.Count, nameof(questions));
        var prompt = RenderWriteExemplars(persona, task, questions);
        return RunAsync(client, MethodStages.Exemplars, [new ChatMessage(ChatRole.User, prompt)],
            MethodChatOptions.Deterministic(MethodStages.Exemplars), Options.MaxParseAttempts,
            text =>
            {
                var parsed = ExemplarParser.Parse(text, questions.Count);
                var failures = parsed.Select((p, i) => p.IsSuccess ? null : $"question {i + 1}: {p.Failure}").OfType<string>().ToList();
                if (failures.Count > 0) return ParseResult<IReadOnlyList<RubricExemplars>>.Fail(string.Join("; ", failures));
                return ParseResult<IReadOnlyList<RubricExemplars>>.Success(
                    parsed.Select((p, i) => new RubricExemplars(questions[i], p.Value!)).ToList());
            }, ct);
    }

    /// <summary>
    /// One judge grades a batch in one deterministic call, returning a verdict per item. The call is re-asked only
    /// while no item yields a score; items still missing or unparseable are failures, never 0 (paper's scoring
    /// excludes unparseable scores).
    /// </summary>
    public Task<StageResult<IReadOnlyList<JudgeVerdict>>> JudgeBatchAsync(IChatClient judge, string persona, PersonaTask task,
        IReadOnlyList<JudgeItem> items, CancellationToken ct = default)
    {
        CheckBatch(items.Count, nameof(items));
        var prompt = RenderJudge(persona, task, items);
        return RunAsync(judge, MethodStages.Judge, [new ChatMessage(ChatRole.User, prompt)],
            MethodChatOptions.Deterministic(MethodStages.Judge), Options.MaxParseAttempts,
            text =>
            {
                var verdicts = VerdictParser.Parse(text, items.Count);
                return verdicts.Any(v => v.Score is not null)
                    ? ParseResult<IReadOnlyList<JudgeVerdict>>.Success(verdicts)
                    : ParseResult<IReadOnlyList<JudgeVerdict>>.Fail(
                        "no item has a usable score: " + string.Join("; ", verdicts.Select(v => $"item {v.ItemIndex + 1}: {v.Failure}")));
            }, ct);
    }

    /// <summary>Splits work into batches of <see cref="MethodOptions.BatchSize"/> (paper: 5), keeping order.</summary>
    public IReadOnlyList<IReadOnlyList<T>> Batch<T>(IReadOnlyList<T> items)
    {
        var size = Math.Max(1, Options.BatchSize);
        return items.Chunk(size).Select(chunk => (IReadOnlyList<T>)chunk).ToList();
    }

    // Prompt rendering is public so that tools can show users exactly what a model is sent.

    public string RenderSelectEnvironments(string persona) =>
        Assets.Prompt(PromptNames.SelectEnvironments).Render(new Dictionary<string, string>
        {
            ["persona"] = PromptTemplate.OneLine(persona),
            ["environment_pool"] = PromptTemplate.NumberedLines(Assets.Environments),
            ["pool_size"] = Assets.Environments.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

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

    private void CheckBatch(int count, string name)
    {
        if (count < 1) throw new ArgumentException("A batch needs at least one item.", name);
        if (count > Math.Max(1, Options.BatchSize))
            throw new ArgumentException($"A batch holds at most {Options.BatchSize} items (MethodOptions.BatchSize); use Batch() first.", name);
    }

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
            var parsed = parse(text);
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
