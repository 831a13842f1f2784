using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Api.Tests;

/// <summary>Run requests the tests submit: offline models only, small enough to finish in seconds.</summary>
public static class Requests
{
    public static readonly string[] ThreePersonas =
    [
        "A 57-year-old truck driver from Texas who loves country music",
        "A 21-year-old photographer from Paris who spends weekends volunteering",
        "A 71-year-old retired nurse from Italy, volunteering in hospice care",
    ];

    /// <summary>3 personas, one offline model under test, 2 offline judges, N = 2 questions per task.</summary>
    /// <remarks>Responses are cached across runs of one database, so a test that needs paid calls names its own agent.</remarks>
    public static RunRequest SmallOfflineRun(string name, long? maxCalls = null, string agent = "offline:agent-a") => new()
    {
        Name = name,
        Personas = ThreePersonas,
        Agents = [agent],
        Judges = ["offline:judge-1", "offline:judge-2"],
        QuestionsPerTask = 2,
        MaxCalls = maxCalls,
    };
}
