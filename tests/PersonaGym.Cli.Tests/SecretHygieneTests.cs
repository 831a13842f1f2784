using PersonaGym.Cli.Benchmark;

namespace PersonaGym.Cli.Tests;

/// <summary>Nothing the CLI prints repeats a password it was given.</summary>
public sealed class SecretHygieneTests
{
    [Theory]
    [InlineData("postgres://alice:s3cret-pw@db.example.com:5432/personagym")]
    [InlineData("Host=db.example.com;Database=personagym;Username=alice;Password=s3cret-pw")]
    public void The_suggested_command_after_an_import_masks_the_database_password(string database)
    {
        var hint = QuestionSetCommands.DatabaseHint(database);

        Assert.DoesNotContain("s3cret-pw", hint);
        Assert.Contains("Password=***", hint);
        Assert.Contains("db.example.com", hint);
    }

    [Fact]
    public void A_database_without_a_password_is_repeated_as_given()
    {
        Assert.Equal(" --db results/personagym.db", QuestionSetCommands.DatabaseHint("results/personagym.db"));
    }
}
