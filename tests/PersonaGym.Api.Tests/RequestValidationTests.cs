using System.Net;
using System.Text;
using System.Text.Json;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

[Collection(PostgresServer.Collection)]
public sealed class RequestValidationTests(ApiHost host) : IClassFixture<ApiHost>
{
    private const string Judges = """ "judges": ["offline:judge-1", "offline:judge-2"] """;

    public static TheoryData<string, string, string> InvalidRequests => new()
    {
        { "no personas", $$"""{ "agents": ["offline:agent"], {{Judges}} }""", "no personas given" },
        { "unknown model spec", $$"""{ "personas": ["A 40-year-old baker from Lyon"], "agents": ["nosuchprovider:model"], {{Judges}} }""", "nosuchprovider" },
        { "duplicate personas", $$"""{ "personas": ["A 40-year-old baker from Lyon", "A 40-year-old baker from Lyon"], {{Judges}} }""", "duplicate" },
        { "zero questions per task", $$"""{ "personas": ["A 40-year-old baker from Lyon"], "questionsPerTask": 0, {{Judges}} }""", "questions per task must be between 1 and" },
        { "malformed JSON", """{ "personas": ["A 40-year-old baker from Lyon" """, "not a valid run request" },
        { "null list", """{ "personas": null }""", "personas must be a list" },
        { "persona with NUL", $$"""{ "personas": ["A baker\u0000 from Lyon"], {{Judges}} }""", "control character U+0000" },
        { "agent spec with escape", $$"""{ "personas": ["A baker from Lyon"], "agents": ["offline:a\u001b[31m"], {{Judges}} }""", "agent #1 holds the control character U+001B" },
        { "spec of 100,000 characters", $$"""{ "personas": ["A baker from Lyon"], "agents": ["offline:{{new string('a', 100_000)}}"], {{Judges}} }""", "agent #1 is longer than 300 characters" },
        { "more personas than the limit", $$"""{ "personas": [{{string.Join(",", Enumerable.Range(0, 2001).Select(i => $"\"Persona {i}\""))}}], {{Judges}} }""", "PersonaGym:Limits:MaxPersonasPerRun" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task An_invalid_run_request_is_a_400_validation_problem_listing_its_problems_and_stores_nothing(string why, string body, string problem)
    {
        using var client = host.Client();
        var before = await host.RunCountAsync();

        var response = await client.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, why);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(400, json.RootElement.GetProperty("status").GetInt32());
        var problems = json.RootElement.GetProperty("errors").EnumerateObject().SelectMany(e => e.Value.EnumerateArray()).Select(e => e.GetString()!).ToList();
        Assert.Contains(problems, p => p.Contains(problem, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(before, await host.RunCountAsync());
    }

    [Fact]
    public async Task Every_problem_of_a_request_is_listed_at_the_field_it_is_about()
    {
        using var client = host.Client();
        var body = """{ "personas": [], "agents": ["offline:a", "nosuchprovider:model"], "judges": ["offline:j", "offline:j"], "questionsPerTask": 0, "batchSize": 0, "maxCalls": 0, "maxTokens": -1 }""";

        var response = await client.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = await ErrorsAsync(response);
        Assert.Equal(new[] { "agents[1]", "batchSize", "judges[1]", "maxCalls", "maxTokens", "personas", "questionsPerTask" }, errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("no personas given", Assert.Single(errors["personas"]));
        Assert.Contains("nosuchprovider", Assert.Single(errors["agents[1]"]));
        Assert.Contains("named twice", Assert.Single(errors["judges[1]"]));
        Assert.StartsWith("questions per task", Assert.Single(errors["questionsPerTask"]));
        Assert.StartsWith("batch size", Assert.Single(errors["batchSize"]));
    }

    [Fact]
    public async Task A_spec_that_is_both_a_model_under_test_and_a_judge_is_one_problem_keyed_by_both_fields()
    {
        using var client = host.Client();
        var body = """{ "personas": ["A 40-year-old baker from Lyon who sings"], "agents": ["nosuchprovider:model"], "judges": ["nosuchprovider:model", "offline:j2"] }""";

        var response = await client.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        var errors = json.RootElement.GetProperty("errors").EnumerateObject()
            .ToDictionary(e => e.Name, e => e.Value.EnumerateArray().Select(v => v.GetString()!).ToArray());
        Assert.True(new[] { "agents[0]", "judges[0]" }.SequenceEqual(errors.Keys.Order(StringComparer.Ordinal)), text);
        var message = Assert.Single(errors["agents[0]"]);
        Assert.Contains("nosuchprovider", message);
        Assert.Equal([message], errors["judges[0]"]);
        Assert.Equal("1 problem(s); nothing was stored.", json.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_problem_with_one_persona_or_environment_is_keyed_by_its_position()
    {
        using var client = host.Client();
        var body = """
            { "personas": ["A 40-year-old baker from Lyon who sings", "A 31-year-old nurse from Oslo who climbs", "A 40-year-old baker from Lyon who sings", "   "],
              "agents": ["offline:a"], "judges": ["offline:j1", "offline:j2"], "questionsPerTask": 1,
              "environments": ["No such place at all"] }
            """;

        var response = await client.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = await ErrorsAsync(response);
        Assert.Equal(new[] { "environments[0]", "personas[2]", "personas[3]" }, errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("duplicate", Assert.Single(errors["personas[2]"]));
        Assert.StartsWith("persona #4", Assert.Single(errors["personas[3]"]));
        Assert.Contains("No such place at all", Assert.Single(errors["environments[0]"]));
    }

    [Fact]
    public async Task A_request_over_the_servers_bounds_is_keyed_by_the_field_over_them()
    {
        using var client = host.Client();
        var body = """{ "name": "a\u0001b", "personas": ["A 40-year-old baker from Lyon who sings"], "judges": ["offline:j1", "offline:\u0007j2"] }""";

        var response = await client.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = await ErrorsAsync(response);
        Assert.Equal(new[] { "judges[1]", "name" }, errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_keyed_by_its_field()
    {
        using var client = host.Client();

        var response = await client.PostAsync("/api/runs", new StringContent("""{ "personas": ["A 40-year-old baker"], "questionsPerTask": "ten" }""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["questionsPerTask"], (await ErrorsAsync(response)).Keys);
    }

    private static async Task<Dictionary<string, string[]>> ErrorsAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("errors").EnumerateObject()
            .ToDictionary(e => e.Name, e => e.Value.EnumerateArray().Select(v => v.GetString()!).ToArray());
    }

    [Theory]
    [InlineData("GET", "/api/runs/{0}")]
    [InlineData("GET", "/api/runs/{0}/results")]
    [InlineData("GET", "/api/runs/{0}/validity")]
    [InlineData("POST", "/api/runs/{0}/resume")]
    public async Task An_unknown_run_is_a_404_problem(string method, string route)
    {
        using var client = host.Client();
        var request = new HttpRequestMessage(new HttpMethod(method), string.Format(route, Guid.NewGuid()));
        if (method == "POST") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(404, json.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task A_malformed_resume_body_is_a_400_problem_not_a_server_error()
    {
        using var client = host.Client();
        var response = await client.PostAsync($"/api/runs/{Guid.NewGuid()}/resume", new StringContent("{ \"maxCalls\": ", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_run_id_that_is_not_a_guid_is_a_404_problem()
    {
        using var client = host.Client();
        var response = await client.GetAsync("/api/runs/not-a-run");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_OpenAPI_document_lists_every_route()
    {
        using var client = host.Client();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        string[] expected =
        [
            "/api/runs", "/api/runs/{id}", "/api/runs/{id}/results", "/api/runs/{id}/validity", "/api/runs/{id}/resume",
            "/api/question-sets", "/api/leaderboard",
        ];
        foreach (var path in expected) Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
        Assert.True(paths.GetProperty("/api/runs").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/api/runs/{id}/resume").TryGetProperty("post", out _));
    }
}
