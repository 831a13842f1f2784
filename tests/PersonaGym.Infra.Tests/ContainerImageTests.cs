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

    /// <summary>
    /// Each service (the image's entry point too) runs with the runtime settings bench/README.md measured for several
    /// small processes on shared cores: workstation GC, tiered compilation off, no thread-pool spinning.
    /// </summary>
    [Theory]
    [InlineData("PersonaGym.Api")]
    [InlineData("PersonaGym.QuestionGenerator")]
    [InlineData("PersonaGym.AgentRunner")]
    [InlineData("PersonaGym.Judge")]
    [InlineData("PersonaGym.Web")]
    public async Task Each_service_project_takes_the_services_runtime_settings(string project)
    {
        var path = Path.Combine(Repository.Root, "Services", project, $"{project}.csproj");
        var (exitCode, output) = await Repository.RunAsync("dotnet",
            ["msbuild", path, "-getProperty:ServerGarbageCollection", "-getProperty:TieredCompilation", "-getItem:RuntimeHostConfigurationOption"],
            Repository.Root, TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, output);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var properties = json.RootElement.GetProperty("Properties");
        Assert.Equal("false", properties.GetProperty("ServerGarbageCollection").GetString());
        Assert.Equal("false", properties.GetProperty("TieredCompilation").GetString());
        Assert.Contains(json.RootElement.GetProperty("Items").GetProperty("RuntimeHostConfigurationOption").EnumerateArray(),
            item => item.GetProperty("Identity").GetString() == "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit"
                && item.GetProperty("Value").GetString() == "0");
    }

    [Fact]
    public void No_service_has_a_Dockerfile()
    {
        var dockerfiles = Directory.EnumerateFiles(Path.Combine(Repository.Root, "Services"), "Dockerfile*", SearchOption.AllDirectories);
        Assert.Empty(dockerfiles);
    }
}
