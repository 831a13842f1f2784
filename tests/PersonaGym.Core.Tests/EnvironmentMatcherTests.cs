using PersonaGym.Core.Parsing;

namespace PersonaGym.Core.Tests;

public class EnvironmentMatcherTests
{
    private static readonly IReadOnlyList<string> Pool = ["Wedding", "Dentist's Office", "Space Station", "Farmers Market"];

    [Fact]
    public void Matches_names_ignoring_case_and_punctuation()
    {
        var match = EnvironmentMatcher.Match(["wedding", "DENTISTS OFFICE", "space-station"], Pool);
        Assert.Equal(["Wedding", "Dentist's Office", "Space Station"], match.Matched);
        Assert.Empty(match.Unknown);
    }

    [Fact]
    public void Reports_names_that_are_not_in_the_pool()
    {
        var match = EnvironmentMatcher.Match(["Wedding", "Moon Base"], Pool);
        Assert.Equal(["Wedding"], match.Matched);
        Assert.Equal(["Moon Base"], match.Unknown);
    }

    [Fact]
    public void Maps_bare_numbers_to_the_pool_lines_shown_in_the_prompt() =>
        Assert.Equal(["Space Station", "Wedding"], EnvironmentMatcher.Match(["3", "1"], Pool).Matched);

    [Fact]
    public void Drops_a_line_number_prefix_and_an_explanation() =>
        Assert.Equal(["Farmers Market", "Wedding"],
            EnvironmentMatcher.Match(["4. Farmers Market - she sells roses there", "Wedding (family events)"], Pool).Matched);

    [Fact]
    public void Lists_each_environment_once() =>
        Assert.Equal(["Wedding"], EnvironmentMatcher.Match(["Wedding", "wedding"], Pool).Matched);

    [Fact]
    public void Parse_fails_when_no_name_matches_and_names_them()
    {
        var result = EnvironmentMatcher.Parse("[\"Moon Base\", \"Volcano\"]", Pool);
        Assert.False(result.IsSuccess);
        Assert.Contains("Moon Base", result.Failure);
    }

    [Fact]
    public void Parse_reads_a_fenced_list_and_matches_it() =>
        Assert.Equal(["Wedding"], EnvironmentMatcher.Parse("```\n[\"Wedding\", \"Mars\"]\n```", Pool).Value!.Matched);
}
