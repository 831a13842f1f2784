using PersonaGym.Core.Prompts;

namespace PersonaGym.Core.Tests;

public class PromptTemplateTests
{
    [Fact]
    public void Replaces_every_placeholder() =>
        Assert.Equal("Hi Ann, task X.", new PromptTemplate("t", "Hi {{name}}, task {{ task }}.").Render(
            new Dictionary<string, string> { ["name"] = "Ann", ["task"] = "X" }));

    [Fact]
    public void Fails_naming_a_placeholder_without_a_value()
    {
        var error = Assert.Throws<PromptTemplateException>(() =>
            new PromptTemplate("judge", "{{persona}} {{items}}").Render(new Dictionary<string, string> { ["persona"] = "p" }));
        Assert.Contains("{{items}}", error.Message);
        Assert.Contains("judge", error.Message);
    }

    [Fact]
    public void Does_not_rescan_braces_inside_values() =>
        Assert.Equal("say {{x}}", new PromptTemplate("t", "say {{a}}").Render(new Dictionary<string, string> { ["a"] = "{{x}}" }));

    [Fact]
    public void Lists_items_as_numbered_lines_not_language_reprs() =>
        Assert.Equal("1. Wedding\n2. Dentist's Office", PromptTemplate.NumberedLines(["Wedding", "Dentist's\nOffice"]));
}
