using System.Net;
using System.Text;
using System.Text.Json;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>
/// A run may name providers and models, but not where the server's workers send requests: the base URLs come from the
/// operator's allow-list. These requests are only submitted; nothing ever calls the refused addresses.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class ModelEndpointRefusalTests(ApiHost host) : IClassFixture<ApiHost>
{
    [Theory]
    [InlineData("agents", "openai:gpt@http://169.254.169.254/latest/meta-data")]
    [InlineData("judges", "openai:gpt@http://127.0.0.1:9/v1")]
    [InlineData("agents", "ollama:llama3@http://10.1.2.3:11434")]
    [InlineData("judges", "openai:gpt@https://elsewhere.example.com/v1")]
    public async Task A_run_naming_an_unlisted_base_url_is_a_400_problem_and_stores_nothing(string role, string spec)
    {
        using var client = host.Client();
        var before = await host.RunCountAsync();
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["personas"] = new[] { "A 40-year-old baker from Lyon" },
            [role] = new[] { spec },
            ["questionsPerTask"] = 1,
        });

        using var response = await client.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        // Keyed by the field that names the spec, at its position.
        var problems = json.RootElement.GetProperty("errors").GetProperty($"{role}[0]").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains(problems, p => p.Contains(spec) && p.Contains("PersonaGym:Endpoints:Allowed"));
        Assert.Equal(before, await host.RunCountAsync());
    }
}
