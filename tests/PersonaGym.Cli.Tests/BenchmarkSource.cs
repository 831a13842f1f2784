using PersonaGym.Core;
using PersonaGym.Core.Benchmark;
using Xunit.Abstractions;

namespace PersonaGym.Cli.Tests;

/// <summary>
/// The benchmark the fidelity tests run on: the original PersonaGym benchmark when PERSONAGYM_BENCHMARK_DIR names it
/// (CI does), otherwise a small fixture in the same layout. The same tests run either way, and the test output says
/// which one they used, so a missing benchmark is never a silent pass.
/// </summary>
public sealed record BenchmarkSource(string Directory, bool IsOriginal, BenchmarkReadResult Content)
{
    public const string EnvironmentVariable = "PERSONAGYM_BENCHMARK_DIR";

    /// <summary>The fixture's questions per task: 2 to 10, so batches of 5 come out full, partial and single.</summary>
    public static IReadOnlyDictionary<PersonaTask, int> FixtureQuestionsPerTask { get; } = new Dictionary<PersonaTask, int>
    {
        [PersonaTask.ExpectedAction] = 7,
        [PersonaTask.ActionJustification] = 2,
        [PersonaTask.LinguisticHabits] = 5,
        [PersonaTask.PersonaConsistency] = 10,
        [PersonaTask.ToxicityControl] = 3,
    };

    public static IReadOnlyList<string> FixturePersonas { get; } =
    [
        "A 61-year-old widower from rural England, tending to his garden and raising prize-winning roses",
        // A '/' and a ':' cannot be in a file name: this persona's question file gets the hashed name.
        "A 45-year-old nurse/midwife from Lagos: calm under pressure and fond of proverbs",
        "A 23-year-old competitive climber from Chamonix who works nights as a baker",
    ];

    public int QuestionCount => Content.Personas.Sum(p => p.Questions.Values.Sum(q => q.Count));

    public static BenchmarkSource Resolve(ITestOutputHelper output, string scratchFolder)
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            if (!System.IO.Directory.Exists(configured))
                throw new InvalidOperationException($"{EnvironmentVariable} names {configured}, which does not exist.");
            var original = BenchmarkFormat.Read(configured);
            if (!original.IsValid)
                throw new InvalidOperationException($"{EnvironmentVariable} names {configured}, which is not a valid benchmark: " + string.Join("; ", original.Issues.Take(5)));
            output.WriteLine($"Running on the original PersonaGym benchmark at {configured}.");
            return new BenchmarkSource(configured, true, original);
        }

        output.WriteLine($"THE ORIGINAL BENCHMARK IS ABSENT ({EnvironmentVariable} is not set): these tests run on a " +
                         $"{FixturePersonas.Count}-persona fixture in the benchmark's layout instead. Set {EnvironmentVariable} " +
                         "to the personagym-benchmark-v1 folder to run them on all 200 personas and 10,000 questions.");
        var directory = Path.Combine(scratchFolder, "personagym-fixture");
        WriteFixture(directory);
        return new BenchmarkSource(directory, false, BenchmarkFormat.Read(directory));
    }

    /// <summary>Writes the fixture; each question names its persona, task and position, so every one is distinct.</summary>
    public static void WriteFixture(string directory, IReadOnlyList<string>? personas = null)
    {
        var items = (personas ?? FixturePersonas).Select((persona, p) => new BenchmarkPersona(persona,
            PersonaTasks.All.ToDictionary(task => task, task => (IReadOnlyList<string>)Enumerable.Range(1, FixtureQuestionsPerTask[task])
                .Select(i => $"Persona {p + 1}, {task.DisplayName()} question {i}: at a Farmers Market, what would you do when a stranger asks about your day?")
                .ToList()))).ToList();
        BenchmarkFormat.Write(directory, items, ["Farmers Market", "Wedding", "Hackathon"]);
    }
}
