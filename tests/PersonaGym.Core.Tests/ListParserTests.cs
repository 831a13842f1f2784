using PersonaGym.Core.Parsing;

namespace PersonaGym.Core.Tests;

public class ListParserTests
{
    private static IReadOnlyList<string> Items(string text)
    {
        var result = ListParser.Parse(text);
        Assert.True(result.IsSuccess, result.Failure);
        return result.Value;
    }

    [Fact]
    public void Reads_a_bare_json_array() =>
        Assert.Equal(["Wedding", "Courtroom"], Items("[\"Wedding\", \"Courtroom\"]"));

    [Fact]
    public void Reads_a_json_array_inside_a_json_fence_with_prose_around_it() =>
        Assert.Equal(["Farm", "Bakery"], Items("Sure! Here are the environments:\n```json\n[\n  \"Farm\",\n  \"Bakery\"\n]\n```\nLet me know if you need more."));

    [Fact]
    public void Reads_a_python_style_list_with_single_quotes() =>
        Assert.Equal(["Coffee Shop", "Gym"], Items("['Coffee Shop', 'Gym']"));

    [Fact]
    public void Keeps_an_unescaped_apostrophe_inside_a_single_quoted_item() =>
        Assert.Equal(["Dentist's Office", "Pub"], Items("['Dentist's Office', 'Pub']"));

    [Fact]
    public void Decodes_json_escapes_in_items() =>
        Assert.Equal(["He said \"hi\"", "a\nb"], Items("[\"He said \\\"hi\\\"\", \"a\\nb\"]"));

    [Fact]
    public void Accepts_a_trailing_comma() =>
        Assert.Equal(["One?", "Two?"], Items("[\"One?\", \"Two?\",]"));

    [Fact]
    public void Reads_numbered_lines_with_dots_and_parentheses() =>
        Assert.Equal(["What would you do?", "Why did you go?"], Items("Here you go:\n1. What would you do?\n2) Why did you go?\n\nHope this helps!"));

    [Fact]
    public void Reads_dash_and_star_bullets_and_strips_bold_and_quotes() =>
        Assert.Equal(["Wedding", "Hackathon"], Items("- **Wedding**\n* \"Hackathon\""));

    [Fact]
    public void Skips_a_bracketed_aside_before_the_real_list() =>
        Assert.Equal(["Zoo"], Items("[Note: chosen carefully]\n[\"Zoo\"]"));

    [Fact]
    public void Keeps_brackets_inside_question_text() =>
        Assert.Equal(["At the [main] gate, what do you do?"], Items("[\"At the [main] gate, what do you do?\"]"));

    [Fact]
    public void Fails_on_prose_without_a_list()
    {
        var result = ListParser.Parse("I think the persona would enjoy many places, such as weddings and farms.");
        Assert.False(result.IsSuccess);
        Assert.Contains("no list", result.Failure);
    }

    [Fact]
    public void Fails_on_empty_output() => Assert.False(ListParser.Parse("  \n ").IsSuccess);

    [Fact]
    public void Fails_on_an_empty_array() => Assert.Equal("no list found (expected a JSON array, numbered lines or bullets)", ListParser.Parse("[]").Failure);

    [Fact]
    public void Fails_on_a_truncated_array_without_list_lines() => Assert.False(ListParser.Parse("[\"Wedding\", \"Cour").IsSuccess);
}
