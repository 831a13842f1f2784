namespace PersonaGym.Models;

/// <summary>One reason a model spec cannot be used, found before any call is made.</summary>
public sealed record ModelSpecProblem(string Spec, string Message)
{
    public override string ToString() => $"{Spec}: {Message}";
}

/// <summary>Thrown when model specs cannot be used; the message lists every problem at once.</summary>
public sealed class ModelConfigurationException(IReadOnlyList<ModelSpecProblem> problems)
    : InvalidOperationException("Model configuration is not usable:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => " - " + p)))
{
    public IReadOnlyList<ModelSpecProblem> Problems { get; } = problems;
}
