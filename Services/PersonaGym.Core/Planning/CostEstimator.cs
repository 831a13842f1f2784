using System.Globalization;
using System.Text;

namespace PersonaGym.Core.Planning;

/// <summary>What a run will be asked to do, as far as cost goes.</summary>
/// <param name="GeneratesQuestions">False in benchmark mode: stored questions skip environment selection and question writing.</param>
/// <param name="Agents">The models under test.</param>
/// <param name="Judges">The judge models; each judges every batch of every model under test.</param>
/// <param name="QuestionWriter">Selects environments and writes questions (ignored in benchmark mode).</param>
/// <param name="ExemplarWriter">Writes the score exemplars, once per batch, shared by all models under test.</param>
public sealed record CostInputs(
    int Personas,
    int QuestionsPerTask,
    int BatchSize,
    bool GeneratesQuestions,
    IReadOnlyList<string> Agents,
    IReadOnlyList<string> Judges,
    string QuestionWriter,
    string ExemplarWriter);

/// <summary>Estimated LLM calls and tokens of one stage on one model, for the whole run.</summary>
public sealed record CostLine(string Stage, string Model, long Calls, long InputTokens, long OutputTokens);

/// <summary>The estimate of a run: one line per stage and model, in pipeline order, and the assumptions behind the tokens.</summary>
public sealed record CostEstimate(CostInputs Inputs, IReadOnlyList<CostLine> Lines, IReadOnlyList<string> Assumptions)
{
    public long Calls => Lines.Sum(l => l.Calls);
    public long InputTokens => Lines.Sum(l => l.InputTokens);
    public long OutputTokens => Lines.Sum(l => l.OutputTokens);

    /// <summary>Calls for one persona (every stage is per persona, so the run's calls are this times the personas).</summary>
    public long CallsPerPersona { get; init; }

    /// <summary>A plain-text table for the console: one row per stage and model, a total, then the assumptions.</summary>
    public string FormatTable()
    {
        string[] header = ["Stage", "Model", "Calls", "Input tokens", "Output tokens"];
        var rows = Lines.Select(l => new[] { l.Stage, l.Model, N(l.Calls), N(l.InputTokens), N(l.OutputTokens) }).ToList();
        string[] total = ["Total", "", N(Calls), N(InputTokens), N(OutputTokens)];
        var widths = header.Select((h, i) => rows.Append(total).Select(r => r[i].Length).Append(h.Length).Max()).ToArray();

        var text = new StringBuilder();
        void Row(string[] cells)
        {
            for (var i = 0; i < cells.Length; i++)
            {
                if (i > 0) text.Append("  ");
                // Names left-aligned, figures right-aligned so digits line up.
                text.Append(i < 2 ? cells[i].PadRight(widths[i]) : cells[i].PadLeft(widths[i]));
            }
            text.Append('\n');
        }
        Row(header);
        text.Append(new string('-', widths.Sum() + 2 * (widths.Length - 1))).Append('\n');
        foreach (var row in rows) Row(row);
        text.Append(new string('-', widths.Sum() + 2 * (widths.Length - 1))).Append('\n');
        Row(total);
        text.Append('\n')
            .Append(N(Inputs.Personas)).Append(Inputs.Personas == 1 ? " persona × " : " personas × ")
            .Append(N(CallsPerPersona)).Append(CallsPerPersona == 1 ? " call" : " calls").Append(" per persona. Tokens are estimates:\n");
        foreach (var assumption in Assumptions) text.Append("  - ").Append(assumption).Append('\n');
        return text.ToString();
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>
/// Cost before a run, following the method's call counts (PersonaGym reference code, see docs/method): per persona,
/// environment selection 1 call; questions 1 per task; answers 5 × N per model under test; exemplars 5 × ⌈N/batch⌉,
/// written once and shared by every model under test; judging 5 × ⌈N/batch⌉ per model under test per judge.
/// Benchmark mode skips the first two. Paper check: benchmark mode, 1 model, 2 judges, N = 10, batch 5 gives
/// 50 + 10 + 20 = 80 calls per persona, 16,000 for the 200-persona benchmark.
/// </summary>
public static class CostEstimator
{
    /// <summary>The usage accounting's stage tags, so an estimate lines up with a run's measured usage.</summary>
    public const string EnvironmentsStage = MethodStages.Environments;
    public const string QuestionsStage = MethodStages.Questions;
    public const string AnswerStage = MethodStages.Answer;
    public const string ExemplarsStage = MethodStages.Exemplars;
    public const string JudgeStage = MethodStages.Judge;

    private const int Tasks = 5;

    /// <summary>
    /// Average token counts behind the estimate. Lengths are measured in characters and divided by four (typical of
    /// English text under current BPE tokenizers). Template and rubric sizes are those of our prompt files
    /// (select-environments ≈ 790 characters, generate-questions ≈ 975, persona-system ≈ 325, write-exemplars ≈ 1,190,
    /// judge ≈ 1,100, a rubric ≈ 1,300, the 150-setting pool ≈ 3,000); persona and question sizes are the benchmark's
    /// averages (≈ 80 and ≈ 150 characters). Completion sizes are judgement calls, stated here so they can be argued with.
    /// </summary>
    public static class Tokens
    {
        public const int Persona = 20;
        public const int Question = 40;
        public const int Rubric = 330;

        public const int EnvironmentsPrompt = 200 + 750; // instructions + the 150-setting pool
        public const int EnvironmentsCompletion = 60;    // a list of about ten setting names

        public const int QuestionsPrompt = 245 + Rubric + 40; // instructions + task description and guidance + chosen settings
        public const int QuestionsCompletionOverhead = 20;

        public const int AnswerPrompt = 80; // the persona system prompt, plus persona and question
        public const int Answer = 180;      // a paragraph in character

        public const int ExemplarsPrompt = 300 + Rubric;  // instructions + rubric, plus persona and the batch's questions
        public const int ExemplarsPerQuestion = 5 * 60;   // one short example answer per score level 1–5

        public const int JudgePrompt = 275 + Rubric;      // instructions + rubric, plus persona and per answer below
        public const int JudgeReasoningPerAnswer = 90;    // reasoning ending "Therefore, the final score is N"
    }

    public static CostEstimate Estimate(CostInputs inputs)
    {
        Validate(inputs);
        var n = (long)inputs.QuestionsPerTask;
        // The paper's batch: one exemplar call and one call per judge over up to BatchSize answers; the last may be short.
        var batchesPerTask = (n + inputs.BatchSize - 1) / inputs.BatchSize;

        // Per persona: (stage, model, calls, input tokens, output tokens). Item-proportional tokens are counted over the
        // N questions exactly, per-call overhead over the calls, so a short last batch is priced as it is.
        var perPersona = new List<CostLine>();
        if (inputs.GeneratesQuestions)
        {
            perPersona.Add(new(EnvironmentsStage, inputs.QuestionWriter, 1,
                Tokens.EnvironmentsPrompt + Tokens.Persona, Tokens.EnvironmentsCompletion));
            perPersona.Add(new(QuestionsStage, inputs.QuestionWriter, Tasks,
                Tasks * (Tokens.QuestionsPrompt + Tokens.Persona),
                Tasks * (Tokens.QuestionsCompletionOverhead + n * Tokens.Question)));
        }

        foreach (var agent in inputs.Agents)
        {
            var answers = Tasks * n;
            perPersona.Add(new(AnswerStage, agent, answers,
                answers * (Tokens.AnswerPrompt + Tokens.Persona + Tokens.Question), answers * Tokens.Answer));
        }

        var batches = Tasks * batchesPerTask;
        perPersona.Add(new(ExemplarsStage, inputs.ExemplarWriter, batches,
            batches * (Tokens.ExemplarsPrompt + Tokens.Persona) + Tasks * n * Tokens.Question,
            Tasks * n * Tokens.ExemplarsPerQuestion));

        // Every judge grades every model under test's answers, each against the shared exemplars.
        var judgedAnswers = Tasks * n * inputs.Agents.Count;
        foreach (var judge in inputs.Judges)
        {
            var calls = batches * inputs.Agents.Count;
            perPersona.Add(new(JudgeStage, judge, calls,
                calls * (Tokens.JudgePrompt + Tokens.Persona)
                + judgedAnswers * (Tokens.Question + Tokens.Answer + Tokens.ExemplarsPerQuestion),
                judgedAnswers * Tokens.JudgeReasoningPerAnswer));
        }

        long personas = inputs.Personas;
        var lines = perPersona
            .Select(l => l with { Calls = l.Calls * personas, InputTokens = l.InputTokens * personas, OutputTokens = l.OutputTokens * personas })
            .ToList();

        var assumptions = new List<string>
        {
            "about 4 characters per token; prompt sizes from our templates and rubrics, persona and question sizes from the benchmark's averages",
            $"completions: an answer ≈ {Tokens.Answer} tokens, an exemplar set ≈ {Tokens.ExemplarsPerQuestion} per question, a verdict ≈ {Tokens.JudgeReasoningPerAnswer} per answer",
            "no cache hits: a resumed or repeated run costs less",
        };
        if (inputs.GeneratesQuestions)
            assumptions.Add("question lists are accepted at the first call: re-asks for a wrong count (up to 5 per task) are not counted");
        assumptions.Add("calls that fail to parse and are asked again are not counted");

        return new CostEstimate(inputs, lines, assumptions) { CallsPerPersona = perPersona.Sum(l => l.Calls) };
    }

    private static void Validate(CostInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfNegative(inputs.Personas, nameof(inputs.Personas));
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs.QuestionsPerTask, 1, nameof(inputs.QuestionsPerTask));
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs.BatchSize, 1, nameof(inputs.BatchSize));
        CheckModels(inputs.Agents, "model under test", nameof(inputs.Agents));
        CheckModels(inputs.Judges, "judge", nameof(inputs.Judges));
        if (inputs.GeneratesQuestions && string.IsNullOrWhiteSpace(inputs.QuestionWriter))
            throw new ArgumentException("Questions are generated, so a question writer model is needed.", nameof(inputs));
        if (string.IsNullOrWhiteSpace(inputs.ExemplarWriter))
            throw new ArgumentException("An exemplar writer model is needed.", nameof(inputs));
    }

    private static void CheckModels(IReadOnlyList<string>? models, string role, string name)
    {
        if (models is null || models.Count == 0)
            throw new ArgumentException($"At least one {role} is needed.", name);
        if (models.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException($"A {role} has no model name.", name);
        var duplicate = models.GroupBy(m => m.Trim(), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"The {role} '{duplicate.Key}' is named twice; each would be counted again.", name);
    }
}
