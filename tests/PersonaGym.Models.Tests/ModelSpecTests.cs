namespace PersonaGym.Models.Tests;

public class ModelSpecTests
{
    [Theory]
    [InlineData("openai:gpt-4o-mini", "openai", "gpt-4o-mini", null)]
    [InlineData("openai:llama3@http://localhost:8000/v1", "openai", "llama3", "http://localhost:8000/v1")]
    [InlineData("azure-openai:gpt-4o@https://myres.openai.azure.com", "azure-openai", "gpt-4o", "https://myres.openai.azure.com/")]
    [InlineData("anthropic:claude-3-5-sonnet-latest", "anthropic", "claude-3-5-sonnet-latest", null)]
    [InlineData("anthropic:claude-3-5-haiku-latest@https://proxy.example/anthropic", "anthropic", "claude-3-5-haiku-latest", "https://proxy.example/anthropic")]
    [InlineData("ollama:llama3.1:8b", "ollama", "llama3.1:8b", null)]
    [InlineData("ollama:llama3.1@http://gpu-box:11434", "ollama", "llama3.1", "http://gpu-box:11434/")]
    [InlineData("OFFLINE:persona-sim", "offline", "persona-sim", null)]
    public void Parse_reads_provider_model_and_endpoint(string text, string provider, string model, string? endpoint)
    {
        var spec = ModelSpec.Parse(text);

        Assert.Equal(provider, spec.Provider);
        Assert.Equal(model, spec.Model);
        Assert.Equal(endpoint, spec.Endpoint?.ToString());
    }

    [Fact]
    public void ToString_is_the_spec_text_with_the_endpoint_as_written()
    {
        Assert.Equal("openai:llama3@http://localhost:8000/v1", ModelSpec.Parse(" openai:llama3@http://localhost:8000/v1 ").ToString());
    }

    [Fact]
    public void Offline_spec_is_offline()
    {
        Assert.True(ModelSpec.Parse("offline:x").IsOffline);
        Assert.False(ModelSpec.Parse("ollama:x").IsOffline);
    }

    [Theory]
    [InlineData("")]
    [InlineData("gpt-4o-mini")]
    [InlineData("gemini:pro")]
    [InlineData("openai:")]
    [InlineData("openai:llama3@localhost:8000")]
    [InlineData("openai:llama3@ftp://host/v1")]
    [InlineData("offline:sim@http://localhost:1")]
    [InlineData("openai:gpt 4o")]
    public void Invalid_specs_fail_with_a_message_listing_the_valid_forms(string text)
    {
        Assert.False(ModelSpec.TryParse(text, out var spec, out var error));
        Assert.Null(spec);
        Assert.Contains("azure-openai:<deployment>@<endpoint>", error);
        Assert.Contains("offline:<name>", error);
    }

    [Fact]
    public void Unknown_provider_error_names_the_known_providers()
    {
        var error = Assert.Throws<FormatException>(() => ModelSpec.Parse("gemini:pro")).Message;
        Assert.Contains("unknown provider 'gemini'", error);
        Assert.Contains("anthropic", error);
    }

    [Fact]
    public void Credentials_in_an_endpoint_are_refused_without_echoing_them()
    {
        Assert.False(ModelSpec.TryParse("openai:m@http://user:hunter2@host/v1", out _, out var error));
        Assert.DoesNotContain("hunter2", error);
    }
}
