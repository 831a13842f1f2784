namespace PersonaGym.Pipeline.Llm;

/// <summary>
/// The run an LLM call is made for. Consumers set it around their calls so the database recorder can attribute
/// every call (and so budgets can count them) without threading the id through the model layer.
/// </summary>
public static class LlmCallContext
{
    private static readonly AsyncLocal<Guid?> CurrentRun = new();

    public static Guid? RunId => CurrentRun.Value;

    public static IDisposable ForRun(Guid runId)
    {
        var previous = CurrentRun.Value;
        CurrentRun.Value = runId;
        return new Restore(previous);
    }

    private sealed class Restore(Guid? previous) : IDisposable
    {
        public void Dispose() => CurrentRun.Value = previous;
    }
}
