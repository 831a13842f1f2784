using PersonaGym.Core.Planning;

namespace PersonaGym.Core.Tests;

public class PlanningCostEstimatorTests
{
    private static CostInputs Benchmark(int personas = 200, int n = 10, int batch = 5, string[]? agents = null, string[]? judges = null) =>
        new(personas, n, batch, GeneratesQuestions: false, agents ?? ["openai:gpt-4o-mini"], judges ?? ["openai:gpt-4o", "openai:llama-3-70b@http://vllm:8000/v1"],
            QuestionWriter: "", ExemplarWriter: "openai:gpt-4o");

    private static CostInputs Generated(int personas = 1, int n = 10, int batch = 5) =>
        Benchmark(personas, n, batch) with { GeneratesQuestions = true, QuestionWriter = "openai:gpt-4o" };

    [Fact]
    public void Benchmark_mode_matches_the_papers_80_calls_per_persona_and_16000_for_200_personas()
    {
        var estimate = CostEstimator.Estimate(Benchmark());

        Assert.Equal(80, estimate.CallsPerPersona);
        Assert.Equal(16_000, estimate.Calls);
    }

    [Fact]
    public void Benchmark_mode_lines_are_answers_exemplars_and_each_judge()
    {
        var estimate = CostEstimator.Estimate(Benchmark(personas: 1));

        Assert.Equal(
        [
            ("answer", "openai:gpt-4o-mini", 50L),
            ("exemplars", "openai:gpt-4o", 10L),
            ("judge", "openai:gpt-4o", 10L),
            ("judge", "openai:llama-3-70b@http://vllm:8000/v1", 10L),
        ], estimate.Lines.Select(l => (l.Stage, l.Model, l.Calls)));
    }

    [Fact]
    public void Generating_questions_adds_one_environment_call_and_one_call_per_task()
    {
        var estimate = CostEstimator.Estimate(Generated());

        Assert.Equal(("environments", 1L), (estimate.Lines[0].Stage, estimate.Lines[0].Calls));
        Assert.Equal(("questions", 5L), (estimate.Lines[1].Stage, estimate.Lines[1].Calls));
        Assert.Equal(86, estimate.CallsPerPersona);
    }

    [Fact]
    public void Exemplars_are_shared_while_answers_and_judging_grow_with_each_model_under_test()
    {
        var estimate = CostEstimator.Estimate(Benchmark(personas: 3, agents: ["a", "b", "c"]));

        Assert.Equal(3 * 50, estimate.Lines.Single(l => l.Model == "b").Calls);
        Assert.Equal(3 * 10, estimate.Lines.Single(l => l.Stage == "exemplars").Calls);
        Assert.All(estimate.Lines.Where(l => l.Stage == "judge"), l => Assert.Equal(3 * 10 * 3, l.Calls));
        Assert.Equal(3 * (150 + 10 + 2 * 30), estimate.Calls);
    }

    [Theory]
    [InlineData(10, 4, 3)] // batches of 4, 4, 2
    [InlineData(10, 1, 10)]
    [InlineData(3, 5, 1)]
    [InlineData(10, 10, 1)]
    public void Batches_per_task_round_up(int n, int batch, int batchesPerTask)
    {
        var estimate = CostEstimator.Estimate(Benchmark(personas: 1, n: n, batch: batch, judges: ["j"]));

        Assert.Equal(5 * batchesPerTask, estimate.Lines.Single(l => l.Stage == "exemplars").Calls);
        Assert.Equal(5 * batchesPerTask, estimate.Lines.Single(l => l.Stage == "judge").Calls);
        Assert.Equal(5 * n, estimate.Lines.Single(l => l.Stage == "answer").Calls);
    }

    [Fact]
    public void Tokens_follow_the_stated_per_call_and_per_answer_sizes()
    {
        var estimate = CostEstimator.Estimate(Benchmark(personas: 1, judges: ["j"]));

        var answer = estimate.Lines.Single(l => l.Stage == "answer");
        Assert.Equal(50L * (CostEstimator.Tokens.AnswerPrompt + CostEstimator.Tokens.Persona + CostEstimator.Tokens.Question), answer.InputTokens);
        Assert.Equal(50L * CostEstimator.Tokens.Answer, answer.OutputTokens);
        var judge = estimate.Lines.Single(l => l.Stage == "judge");
        Assert.Equal(
            10L * (CostEstimator.Tokens.JudgePrompt + CostEstimator.Tokens.Persona)
            + 50L * (CostEstimator.Tokens.Question + CostEstimator.Tokens.Answer + CostEstimator.Tokens.ExemplarsPerQuestion),
            judge.InputTokens);
        Assert.Equal(50L * CostEstimator.Tokens.JudgeReasoningPerAnswer, judge.OutputTokens);
    }

    [Fact]
    public void Run_figures_are_the_per_persona_figures_times_the_personas()
    {
        var one = CostEstimator.Estimate(Generated(personas: 1));
        var many = CostEstimator.Estimate(Generated(personas: 37));

        Assert.Equal(one.Lines.Select(l => (l.Calls * 37, l.InputTokens * 37, l.OutputTokens * 37)),
            many.Lines.Select(l => (l.Calls, l.InputTokens, l.OutputTokens)));
        Assert.Equal(one.CallsPerPersona, many.CallsPerPersona);
    }

    [Fact]
    public void The_benchmark_run_costs_tens_of_millions_of_input_tokens_not_thousands_or_billions()
    {
        // A sanity range for the heuristics: 16,000 calls of a few hundred to a few thousand tokens each.
        var estimate = CostEstimator.Estimate(Benchmark());

        Assert.InRange(estimate.InputTokens, 10_000_000, 100_000_000);
        Assert.InRange(estimate.OutputTokens, 1_000_000, 20_000_000);
    }

    [Fact]
    public void The_assumptions_say_that_question_re_asks_are_not_counted()
    {
        Assert.Contains(CostEstimator.Estimate(Generated()).Assumptions, a => a.Contains("re-asks") && a.Contains("not counted"));
        Assert.DoesNotContain(CostEstimator.Estimate(Benchmark()).Assumptions, a => a.Contains("question lists"));
    }

    [Fact]
    public void The_table_lists_every_line_a_total_and_the_assumptions()
    {
        var table = CostEstimator.Estimate(Benchmark()).FormatTable();
        var lines = table.Split('\n');

        Assert.StartsWith("Stage ", lines[0]);
        Assert.Matches(@"^answer\s+openai:gpt-4o-mini\s+10,000\s", lines[2]);
        Assert.Matches(@"^judge\s+openai:llama-3-70b@http://vllm:8000/v1\s+2,000\s", lines[5]);
        Assert.Matches(@"^Total\s+16,000\s", lines[7]);
        Assert.Contains("200 personas × 80 calls per persona.", table);
        Assert.Contains("  - no cache hits", table);
        // Figures are right-aligned: every row of the table has the same width.
        Assert.Single(lines.Take(8).Where(l => !l.StartsWith('-')).Select(l => l.Length).Distinct());
    }

    [Theory]
    [InlineData(-1, 10, 5)]
    [InlineData(1, 0, 5)]
    [InlineData(1, 10, 0)]
    public void Impossible_counts_are_refused(int personas, int n, int batch)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CostEstimator.Estimate(Benchmark(personas, n, batch)));
    }

    [Fact]
    public void A_model_named_twice_in_one_role_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => CostEstimator.Estimate(Benchmark(judges: ["j", "j"])));

        Assert.Contains("'j' is named twice", error.Message);
    }

    [Fact]
    public void Generating_questions_needs_a_question_writer()
    {
        Assert.Throws<ArgumentException>(() => CostEstimator.Estimate(Benchmark() with { GeneratesQuestions = true }));
    }

    [Fact]
    public void A_run_needs_a_model_under_test_and_a_judge()
    {
        Assert.Throws<ArgumentException>(() => CostEstimator.Estimate(Benchmark(agents: [])));
        Assert.Throws<ArgumentException>(() => CostEstimator.Estimate(Benchmark(judges: [])));
    }

    [Fact]
    public void The_table_speaks_of_one_persona_in_the_singular()
    {
        Assert.Contains("1 persona × 80 calls per persona.", CostEstimator.Estimate(Benchmark(personas: 1)).FormatTable());
    }
}
