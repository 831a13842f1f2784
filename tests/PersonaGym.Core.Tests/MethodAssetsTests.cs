namespace PersonaGym.Core.Tests;

public sealed class MethodAssetsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("personagym-assets-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private void Write(string relativePath, string text)
    {
        var path = Path.Combine(_folder, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private const string ValidRubric = """
        version: expected-action@9

        # Expected Action
        Custom description.

        ## Question guidance
        Ask about actions.

        ## Score 1
        Bad.
        ## Score 2
        Weak.
        ## Score 3
        Fine.
        ## Score 4
        Good.
        ## Score 5
        Best.
        """;

    [Fact]
    public void Default_pool_has_at_least_150_distinct_environments()
    {
        var environments = MethodAssets.LoadDefault().Environments;
        Assert.True(environments.Count >= 150, $"only {environments.Count} environments");
        Assert.Equal(environments.Count, environments.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void Every_default_rubric_has_five_levels_guidance_and_a_versioned_id()
    {
        var assets = MethodAssets.LoadDefault();
        foreach (var task in PersonaTasks.All)
        {
            var rubric = assets.Rubric(task);
            Assert.Equal([1, 2, 3, 4, 5], rubric.Levels.Keys.Order());
            Assert.All(rubric.Levels.Values, level => Assert.False(string.IsNullOrWhiteSpace(level)));
            Assert.False(string.IsNullOrWhiteSpace(rubric.QuestionGuidance));
            Assert.False(string.IsNullOrWhiteSpace(rubric.Description));
            Assert.Matches($"^{task.Slug()}@2:[0-9a-f]{{8}}$", rubric.Version);
        }
    }

    [Fact]
    public void An_override_folder_replaces_only_the_files_it_holds()
    {
        Write("rubrics/expected-action.md", ValidRubric);
        Write("environments.txt", "# mine\nMoon Base\nHarbour\n");
        var assets = MethodAssets.Load(_folder);
        Assert.Equal(["Moon Base", "Harbour"], assets.Environments);
        Assert.Equal("Best.", assets.Rubric(PersonaTask.ExpectedAction).Levels[5]);
        Assert.StartsWith("expected-action@9:", assets.Rubric(PersonaTask.ExpectedAction).Version);
        Assert.Equal(MethodAssets.LoadDefault().Rubric(PersonaTask.ToxicityControl).Version, assets.Rubric(PersonaTask.ToxicityControl).Version);
        Assert.Equal(["environments.txt", "rubrics/expected-action.md"], assets.OverriddenFiles.Order());
    }

    [Fact]
    public void Editing_a_rubric_changes_its_version_even_with_the_same_declared_id()
    {
        Write("rubrics/expected-action.md", ValidRubric);
        var first = MethodAssets.Load(_folder).Rubric(PersonaTask.ExpectedAction).Version;
        Write("rubrics/expected-action.md", ValidRubric.Replace("Best.", "Best of all."));
        Assert.NotEqual(first, MethodAssets.Load(_folder).Rubric(PersonaTask.ExpectedAction).Version);
    }

    [Fact]
    public void A_rubric_missing_a_level_fails_naming_the_file_and_the_section()
    {
        Write("rubrics/linguistic-habits.md", ValidRubric.Replace("## Score 3\n        Fine.\n", "").Replace("## Score 3\nFine.\n", ""));
        var error = Assert.Throws<MethodAssetsException>(() => MethodAssets.Load(_folder));
        Assert.EndsWith(Path.Combine("rubrics", "linguistic-habits.md"), error.File);
        Assert.Contains("## Score 3", error.Message);
    }

    [Fact]
    public void A_rubric_without_a_version_line_fails()
    {
        Write("rubrics/toxicity-control.md", "# Toxicity\n## Score 1\nx");
        var error = Assert.Throws<MethodAssetsException>(() => MethodAssets.Load(_folder));
        Assert.Contains("version:", error.Problem);
    }

    [Fact]
    public void A_repeated_environment_fails_naming_the_line()
    {
        Write("environments.txt", "Wedding\nFarm\nwedding\n");
        var error = Assert.Throws<MethodAssetsException>(() => MethodAssets.Load(_folder));
        Assert.Contains("line 3", error.Message);
        Assert.EndsWith("environments.txt", error.File);
    }

    [Fact]
    public void A_prompt_with_an_unknown_placeholder_fails_at_load()
    {
        Write("prompts/judge.md", "{{persona}} {{rubric}} {{items}} {{answers}}");
        var error = Assert.Throws<MethodAssetsException>(() => MethodAssets.Load(_folder));
        Assert.Contains("{{answers}}", error.Message);
    }

    [Fact]
    public void A_prompt_missing_a_required_placeholder_fails_at_load()
    {
        Write("prompts/judge.md", "Grade {{persona}} with {{rubric}}.");
        var error = Assert.Throws<MethodAssetsException>(() => MethodAssets.Load(_folder));
        Assert.Contains("{{items}}", error.Message);
    }

    [Fact]
    public void A_misspelt_override_file_is_an_error_not_silently_ignored()
    {
        Write("rubrics/expected-actions.md", ValidRubric);
        Assert.Throws<MethodAssetsException>(() => MethodAssets.Load(_folder));
    }

    [Fact]
    public void A_missing_override_folder_is_an_error() =>
        Assert.Throws<MethodAssetsException>(() => MethodAssets.Load(Path.Combine(_folder, "absent")));
}
