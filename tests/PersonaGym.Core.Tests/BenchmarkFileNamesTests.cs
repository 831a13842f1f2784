using System.Text;
using PersonaGym.Core.Benchmark;

namespace PersonaGym.Core.Tests;

public class BenchmarkFileNamesTests
{
    [Fact]
    public void Ordinary_persona_keeps_the_original_file_name()
    {
        const string persona = "A 61-year-old widower from rural England, tending to his garden";
        Assert.Equal([persona + ".json"], BenchmarkFileNames.QuestionFileNames([persona]));
    }

    [Theory]
    [InlineData("A chef who splits time 50/50 between Paris and Lyon")]
    [InlineData("A lawyer: sharp, \"precise\" and <fast>")]
    [InlineData("A back\\slash fan")]
    [InlineData("Line one\nline two")]
    [InlineData("CON")]
    [InlineData("nul.thing")]
    public void Persona_that_cannot_be_a_file_name_gets_a_hashed_name(string persona)
    {
        var name = Assert.Single(BenchmarkFileNames.QuestionFileNames([persona]));

        Assert.Matches(@"~[0-9a-f]{16}\.json$", name);
        Assert.DoesNotContain(name, c => "/\\:*?\"<>|".Contains(c) || char.IsControl(c));
        Assert.NotEqual(persona + ".json", name);
    }

    [Fact]
    public void Hashed_name_keeps_a_readable_prefix_and_is_stable()
    {
        const string persona = "A chef who splits time 50/50 between Paris and Lyon";

        var name = BenchmarkFileNames.HashedName(persona);

        Assert.StartsWith("A chef who splits time 50_50 between Paris and Lyon~", name);
        Assert.Equal(name, BenchmarkFileNames.HashedName(persona));
        Assert.NotEqual(name, BenchmarkFileNames.HashedName(persona + "!"));
    }

    [Fact]
    public void Persona_too_long_for_a_file_name_gets_a_short_hashed_name()
    {
        var persona = string.Concat(Enumerable.Repeat("Ünïcödé persona ", 40)); // 640 chars, over 255 bytes

        var name = Assert.Single(BenchmarkFileNames.QuestionFileNames([persona]));

        Assert.True(Encoding.UTF8.GetByteCount(name) <= 255, name);
        Assert.Matches(@"~[0-9a-f]{16}\.json$", name);
    }

    [Fact]
    public void Personas_differing_only_in_case_get_distinct_hashed_names()
    {
        var names = BenchmarkFileNames.QuestionFileNames(["A Baker from Lyon", "a baker from lyon", "A farmer"]);

        Assert.Matches(@"~[0-9a-f]{16}\.json$", names[0]);
        Assert.Matches(@"~[0-9a-f]{16}\.json$", names[1]);
        Assert.NotEqual(names[0], names[1], StringComparer.OrdinalIgnoreCase);
        Assert.Equal("A farmer.json", names[2]);
    }
}
