namespace PersonaGym.Pipeline.Runs;

/// <summary>One problem of a run request and the request field it is about (see <see cref="RunRequestFields"/>).</summary>
public sealed record RunProblem(string Field, string Message);

/// <summary>
/// The keys of a run request's validation problems: the JSON property the problem is about, with the zero-based
/// position for one item of a list (<c>personas[3]</c>, <c>agents[0]</c>, <c>environments[2]</c>), or the list itself when
/// it concerns the list as a whole (<c>personas</c>: none given, too many). Problems about no single field are under
/// <see cref="General"/>. The validator assigns them where it finds each problem, so a form can show every problem
/// at its field.
/// </summary>
public static class RunRequestFields
{
    public const string General = "request";
    public const string Name = "name";
    public const string Personas = "personas";
    public const string PersonaLimit = "personaLimit";
    public const string QuestionSet = "questionSet";
    public const string EnvironmentPool = "environmentPool";
    public const string Environments = "environments";
    public const string Agents = "agents";
    public const string Judges = "judges";
    public const string QuestionWriter = "questionWriter";
    public const string ExemplarWriter = "exemplarWriter";
    public const string QuestionsPerTask = "questionsPerTask";
    public const string BatchSize = "batchSize";
    public const string MaxCalls = "maxCalls";
    public const string MaxTokens = "maxTokens";

    /// <summary>The key of one item of a list field: <c>agents[2]</c>.</summary>
    public static string Item(string list, int index) => $"{list}[{index}]";

    public static string Persona(int index) => Item(Personas, index);

    public static string Environment(int index) => Item(Environments, index);

    /// <summary>The field a key belongs to, without the position: <c>personas[3]</c> → <c>personas</c>.</summary>
    public static string FieldOf(string key) => key.IndexOf('[', StringComparison.Ordinal) is var at and > 0 ? key[..at] : key;

    /// <summary>The problems as the Api's validation problem details carry them: key → messages, in order.</summary>
    public static Dictionary<string, string[]> Group(IEnumerable<RunProblem> problems) =>
        problems.GroupBy(p => p.Field).ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray());

    /// <summary>
    /// Every field that names <paramref name="spec"/>: each position in <c>agents</c> and <c>judges</c>, the writers;
    /// a spec no field of the request names came from the server's defaults and is keyed by the role it fills.
    /// </summary>
    public static IReadOnlyList<string> Naming(string spec, RunRequest request, string? questionWriter, string exemplarWriter)
    {
        var fields = new List<string>();
        bool Is(string? text) => text is not null && string.Equals(text.Trim(), spec, StringComparison.Ordinal);
        void List(string field, IReadOnlyList<string> specs, bool defaults)
        {
            if (defaults) return;
            for (var i = 0; i < specs.Count; i++)
                if (Is(specs[i])) fields.Add(Item(field, i));
        }

        List(Agents, request.Agents, request.Agents.Count == 0);
        List(Judges, request.Judges, request.Judges.Count == 0);
        if (Is(questionWriter)) fields.Add(QuestionWriter);
        if (Is(exemplarWriter)) fields.Add(ExemplarWriter);
        if (fields.Count == 0)
        {
            // A default model under test or judge (the request left the list empty).
            if (request.Agents.Count == 0) fields.Add(Agents);
            if (request.Judges.Count == 0) fields.Add(Judges);
        }

        return fields.Count > 0 ? fields : [General];
    }
}
