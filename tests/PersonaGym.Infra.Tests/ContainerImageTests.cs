namespace PersonaGym.Infra.Tests;

/// <summary>The images come from .NET SDK container publishing: each service project names its repository, and no
/// Dockerfile exists for azd to prefer over `dotnet publish /t:PublishContainer`.</summary>
public sealed class ContainerImageTests
{
    [Theory]
    [InlineData("PersonaGym.Api", "personagym-api")]
    [InlineData("PersonaGym.QuestionGenerator", "personagym-question-generator")]
    [InlineData("PersonaGym.AgentRunner", "personagym-agent-runner")]
    [InlineData("PersonaGym.Judge", "personagym-judge")]
    [InlineData("PersonaGym.Web", "personagym-web")]
    public async Task Each_service_project_names_its_image_repository(string project, string repository)
    {
        var path = Path.Combine(Repository.Root, "Services", project, $"{project}.csproj");
        var (exitCode, output) = await Repository.RunAsync("dotnet", ["msbuild", path, "-getProperty:ContainerRepository"],
            Repository.Root, TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, output);
        // One property asked for: MSBuild prints its value alone.
        Assert.Equal(repository, output.Trim());
    }

    [Fact]
    public void No_service_has_a_Dockerfile()
    {
        var dockerfiles = Directory.EnumerateFiles(Path.Combine(Repository.Root, "Services"), "Dockerfile*", SearchOption.AllDirectories);
        Assert.Empty(dockerfiles);
    }
}
