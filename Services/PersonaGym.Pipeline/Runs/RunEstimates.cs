using PersonaGym.Core.Planning;

namespace PersonaGym.Pipeline.Runs;

/// <summary>What a planned run will cost and how much work it is, before anything is called.</summary>
public static class RunEstimates
{
    public static CostEstimate For(RunPlan plan) => CostEstimator.Estimate(new CostInputs(
        plan.Personas.Count,
        plan.QuestionsPerTask,
        plan.Request.BatchSize,
        plan.GeneratesQuestions,
        plan.Agents,
        plan.Judges,
        plan.QuestionWriter ?? "(stored question set)",
        plan.ExemplarWriter));

    /// <summary>Batches × agents: the units of work the progress display counts.</summary>
    public static int ExpectedBatches(RunPlan plan) => plan.Personas.Count * plan.BatchesPerPersona * plan.Agents.Count;
}
