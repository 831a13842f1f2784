using System.Text.Json;
using PersonaGym.Core.Parsing;
using Xunit.Abstractions;

namespace PersonaGym.Core.Tests;

public sealed class QuestionEnvironmentsTests(ITestOutputHelper output)
{
    private static readonly string[] Pool = ["Wedding", "Classroom", "Library", "Library Study Session", "City Streets (One-Way)", "Space Station", "Bar"];

    [Theory]
    [InlineData("In a Classroom setting, what would you do?", "Classroom")]
    [InlineData("During a library study session, how do you help a friend?", "Library Study Session")]
    [InlineData("At two weddings in one week, what do you wear?", "Wedding")]
    [InlineData("Driving through city streets, how do you stay calm?", "City Streets (One-Way)")]
    [InlineData("On a space-station mission, what is your first task?", "Space Station")]
    [InlineData("What do you think of barbecues at a classroom party?", "Classroom")]
    public void A_question_names_the_environment_it_is_set_in(string question, string environment)
    {
        Assert.Equal([environment], QuestionEnvironments.Named(question, Pool));
    }

    [Fact]
    public void Several_are_given_in_the_order_the_question_names_them_and_none_when_it_names_none()
    {
        Assert.Equal(["Wedding", "Classroom"], QuestionEnvironments.Named("After a wedding you return to the classroom. What now?", Pool));
        Assert.Empty(QuestionEnvironments.Named("During a Corporate Team Building event, what would you do?", Pool));
        Assert.Empty(QuestionEnvironments.Named("Anything", []));
    }

    [Fact]
    public void Most_questions_of_the_PersonaGym_benchmark_name_one_of_its_environments()
    {
        if (BenchmarkFixture.SharedBenchmarkDirectory is not { } folder || !Directory.Exists(folder))
        {
            output.WriteLine($"{BenchmarkFixture.SharedBenchmarkVariable} is not set to the benchmark folder: the benchmark check is skipped.");
            return;
        }

        var pool = JsonSerializer.Deserialize<List<string>>(File.ReadAllText(Path.Combine(folder, "environments.json")))!;
        int questions = 0, named = 0;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(folder, "questions"), "*.json"))
        {
            foreach (var list in JsonSerializer.Deserialize<Dictionary<string, List<string>>>(File.ReadAllText(file))!.Values)
            {
                foreach (var question in list)
                {
                    questions++;
                    var environments = QuestionEnvironments.Named(question, pool);
                    Assert.All(environments, e => Assert.Contains(e, pool));
                    if (environments.Count > 0) named++;
                }
            }
        }

        output.WriteLine($"{named} of {questions} benchmark questions name an environment of the pool.");
        Assert.Equal(10_000, questions);
        // The rest are set in places the question writer chose outside the pool ("a coworking space").
        Assert.True(named >= 8_500, $"only {named} of {questions} questions were found to name an environment");
    }
}
