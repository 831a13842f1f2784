using PersonaGym.Pipeline.Input;

namespace PersonaGym.Cli.Tests;

public sealed class PersonaInputTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("personagym-input-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void Inline_personas_are_trimmed_and_folded()
    {
        var result = PersonaInput.Read(["  A 57-year-old   truck driver from Texas "], []);

        Assert.True(result.IsValid);
        Assert.Equal("A 57-year-old truck driver from Texas", Assert.Single(result.Personas).Text);
    }

    [Fact]
    public void Text_file_has_one_persona_per_line_skipping_blanks_and_comments()
    {
        var file = Write("p.txt", "# our personas\nA nurse from Italy\n\nA farmer from Kenya\r\n");

        var result = PersonaInput.Read([], [file]);

        Assert.Equal(["A nurse from Italy", "A farmer from Kenya"], result.Personas.Select(p => p.Text));
    }

    [Fact]
    public void Json_array_accepts_strings_and_objects_with_a_persona_field()
    {
        var file = Write("p.json", """["A nurse from Italy", {"persona": "A farmer from Kenya", "id": 3}]""");

        var result = PersonaInput.Read([], [file]);

        Assert.True(result.IsValid);
        Assert.Equal(["A nurse from Italy", "A farmer from Kenya"], result.Personas.Select(p => p.Text));
    }

    [Fact]
    public void Json_lines_are_read_line_by_line()
    {
        var file = Write("p.jsonl", "\"A nurse from Italy\"\n{\"Persona\": \"A farmer from Kenya\"}\n");

        var result = PersonaInput.Read([], [file]);

        Assert.Equal(2, result.Personas.Count);
    }

    [Fact]
    public void Csv_reads_the_persona_column_with_quoted_commas()
    {
        var file = Write("p.csv", "id,persona\n1,\"A nurse from Italy, retired\"\n2,A farmer from Kenya\n");

        var result = PersonaInput.Read([], [file]);

        Assert.Equal(["A nurse from Italy, retired", "A farmer from Kenya"], result.Personas.Select(p => p.Text));
    }

    [Fact]
    public void Csv_without_a_persona_column_is_an_error_naming_the_columns()
    {
        var file = Write("p.csv", "id,description\n1,A nurse\n");

        var result = PersonaInput.Read([], [file]);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Contains("no \"persona\" column") && e.Contains("description"));
    }

    [Fact]
    public void Duplicate_personas_are_reported_with_both_places()
    {
        var file = Write("p.txt", "A nurse from Italy\nA  nurse from Italy\n");

        var result = PersonaInput.Read([], [file]);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Contains("p.txt:2") && e.Contains("duplicate") && e.Contains("p.txt:1"));
    }

    [Fact]
    public void Empty_persona_in_json_is_an_error_with_its_index()
    {
        var file = Write("p.json", """["A nurse", "  ", 42]""");

        var result = PersonaInput.Read([], [file]);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Contains("[1]") && e.Contains("empty"));
        Assert.Contains(result.Errors, e => e.Contains("[2]") && e.Contains("Number"));
    }

    [Fact]
    public void Malformed_json_is_an_error_not_an_exception()
    {
        var file = Write("p.json", "[\"A nurse\"");

        var result = PersonaInput.Read([], [file]);

        Assert.Contains(result.Errors, e => e.Contains("not valid JSON"));
    }

    [Fact]
    public void Missing_file_is_an_error_naming_it()
    {
        var result = PersonaInput.Read([], [Path.Combine(_folder, "absent.txt")]);

        Assert.Contains(result.Errors, e => e.Contains("absent.txt") && e.Contains("cannot be read"));
    }

    [Fact]
    public void An_empty_file_says_it_contains_no_personas()
    {
        var file = Write("p.txt", "\n\n# nothing\n");

        var result = PersonaInput.Read([], [file]);

        Assert.Contains(result.Errors, e => e.Contains("contains no personas"));
    }

    [Fact]
    public void No_input_at_all_says_how_to_give_personas()
    {
        var result = PersonaInput.Read([], []);

        Assert.False(result.IsValid);
        Assert.Contains("--persona", Assert.Single(result.Errors));
    }

    [Fact]
    public void Uploaded_files_are_read_by_their_names_extension_with_the_same_checks_as_files_on_disk()
    {
        var result = PersonaInput.ReadUploads([], [
            ("people.csv", "persona,age\n\"A 61-year-old fisherman from Galway who sings in a choir\",61\n"),
            ("more.json", """["A 19-year-old coder from Seoul who skateboards", "A 61-year-old fisherman from Galway who sings in a choir"]"""),
        ]);

        Assert.Equal(["A 61-year-old fisherman from Galway who sings in a choir", "A 19-year-old coder from Seoul who skateboards"], result.Personas.Select(p => p.Text));
        Assert.Contains(result.Errors, e => e.StartsWith("more.json", StringComparison.Ordinal) && e.Contains("duplicate"));
    }
}
