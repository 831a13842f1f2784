namespace PersonaGym.Pipeline.Runs;

/// <summary>
/// Which field of a <see cref="RunRequest"/> a validation problem is about (the JSON property name), so a form can show
/// each problem next to its field. Problems about no single field go under <see cref="General"/>.
/// </summary>
public static class RunRequestFields
{
    public const string General = "request";

    /// <summary>The problems grouped by field, each field's problems in the order given.</summary>
    public static Dictionary<string, string[]> Group(IEnumerable<string> problems, RunRequest? request) =>
        problems.GroupBy(p => Of(p, request)).ToDictionary(g => g.Key, g => g.ToArray());

    public static string Of(string problem, RunRequest? request)
    {
        bool Starts(string prefix) => problem.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);
        if (Starts("persona #") || Starts("no personas") || problem.Contains("has no questions for the persona", StringComparison.Ordinal)) return "personas";
        if (Starts("the persona limit")) return "personaLimit";
        if (Starts("the agent ") || Starts("at least one agent") || Starts("agents ")) return "agents";
        if (Starts("the judge ") || Starts("at least one judge") || Starts("judges ")) return "judges";
        if (Starts("questions per task")) return "questionsPerTask";
        if (Starts("batch size")) return "batchSize";
        if (Starts("--max-calls")) return "maxCalls";
        if (Starts("--max-tokens")) return "maxTokens";
        if (Starts("no question set") || Starts("the question set")) return "questionSet";
        if (Starts("unknown environment") || Starts("environments ")) return "environments";

        // A model spec's problem starts with the spec: it belongs to the field that names it.
        if (request is not null)
        {
            bool Names(string? spec) => !string.IsNullOrWhiteSpace(spec) && problem.StartsWith(spec.Trim() + ":", StringComparison.Ordinal);
            if (request.Agents?.Any(Names) == true) return "agents";
            if (request.Judges?.Any(Names) == true) return "judges";
            if (Names(request.QuestionWriter)) return "questionWriter";
            if (Names(request.ExemplarWriter)) return "exemplarWriter";
        }

        return General;
    }
}
