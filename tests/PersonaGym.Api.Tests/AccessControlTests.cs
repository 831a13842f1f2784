using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Cli;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Testing;
using Spectre.Console;

namespace PersonaGym.Api.Tests;

/// <summary>Who may call what: 401 without a valid key, 403 for the wrong role, and keys made and revoked by the CLI.</summary>
[Collection(PostgresServer.Collection)]
public sealed class AccessControlTests(ApiHost host) : IClassFixture<ApiHost>
{
    private static readonly Guid SomeRun = Guid.Parse("0190a000-0000-7000-8000-000000000001");

    private const string SmallRun = """{ "personas": ["A 40-year-old baker from Lyon"], "agents": ["offline:agent"], "judges": ["offline:judge-1"], "questionsPerTask": 1 }""";

    /// <summary>Every endpoint of the Api but the open ones, with the role it needs.</summary>
    public static TheoryData<string, string, string> ProtectedEndpoints => new()
    {
        { "GET", "/", "reader" },
        { "GET", "/api/runs", "reader" },
        { "GET", $"/api/runs/{SomeRun}", "reader" },
        { "GET", $"/api/runs/{SomeRun}/results", "reader" },
        { "GET", $"/api/runs/{SomeRun}/validity", "reader" },
        { "GET", "/api/question-sets", "reader" },
        { "GET", "/api/leaderboard", "reader" },
        { "GET", "/api/me", "reader" },
        { "POST", "/api/runs", "operator" },
        { "POST", $"/api/runs/{SomeRun}/resume", "operator" },
    };

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task A_request_without_a_key_is_a_401_problem_and_stores_nothing(string method, string path, string role)
    {
        _ = role;
        using var client = host.AnonymousClient();
        var before = await host.RunCountAsync();

        using var response = await client.SendAsync(Request(method, path));

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("ApiKey", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal(before, await host.RunCountAsync());
    }

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task A_request_with_an_unknown_key_is_a_401_problem(string method, string path, string role)
    {
        _ = role;
        using var client = host.ClientWith(ApiKeyStore.NewSecret());

        using var response = await client.SendAsync(Request(method, path));

        var problem = await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("not valid", problem.GetProperty("title").GetString());
    }

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task A_reader_key_reads_but_gets_403_where_an_operator_is_needed(string method, string path, string role)
    {
        using var client = host.ClientWith(await host.CreateKeyAsync($"reader-{Guid.NewGuid():N}", ApiKeyRole.Reader));
        var before = await host.RunCountAsync();

        using var response = await client.SendAsync(Request(method, path));

        if (role == "operator")
        {
            await AssertProblemAsync(response, HttpStatusCode.Forbidden);
            Assert.Equal(before, await host.RunCountAsync());
        }
        else
        {
            // Allowed: the answer is the endpoint's own (a page, a list, or 404 for the made-up run id).
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{method} {path}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task The_caller_endpoint_names_the_key_and_its_roles()
    {
        using var reader = host.ClientWith(await host.CreateKeyAsync("who-reads", ApiKeyRole.Reader));
        using var operatorClient = host.Client();

        using var readerJson = JsonDocument.Parse(await reader.GetStringAsync("/api/me"));
        using var operatorJson = JsonDocument.Parse(await operatorClient.GetStringAsync("/api/me"));

        Assert.Equal("who-reads", readerJson.RootElement.GetProperty("name").GetString());
        Assert.True(Guid.TryParse(readerJson.RootElement.GetProperty("keyId").GetString(), out _), "the key's id");
        Assert.Equal(["reader"], readerJson.RootElement.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["reader", "operator"], operatorJson.RootElement.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task An_operator_key_submits_a_run()
    {
        using var client = host.Client();

        using var response = await client.PostAsync("/api/runs", new StringContent(SmallRun, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    [InlineData("/openapi/v1.json")]
    public async Task Health_probes_and_the_OpenAPI_document_need_no_key(string path)
    {
        using var client = host.AnonymousClient();

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task The_OpenAPI_document_declares_the_api_key_scheme_on_protected_operations_only()
    {
        using var client = host.AnonymousClient();

        using var json = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));

        var scheme = json.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("X-Api-Key", scheme.GetProperty("name").GetString());
        var submit = json.RootElement.GetProperty("paths").GetProperty("/api/runs").GetProperty("post");
        Assert.True(submit.GetProperty("security")[0].TryGetProperty("ApiKey", out _));
        Assert.True(submit.GetProperty("responses").TryGetProperty("403", out _));
    }

    [Fact]
    public async Task Keys_created_listed_and_revoked_with_the_CLI_work_against_the_Api_at_once()
    {
        var created = await CliAsync("keys", "create", "--name", "cli-made", "--role", "operator", "--db", host.ConnectionString);
        Assert.Equal(0, created.ExitCode);
        var secret = created.Out.Trim();
        Assert.StartsWith(ApiKeyStore.KeyPrefix, secret);

        // Only the hash is stored.
        await using (var db = host.Database())
        {
            var row = await db.ApiKeys.AsNoTracking().SingleAsync(k => k.Name == "cli-made");
            Assert.Equal(ApiKeyStore.HashOf(secret), row.Hash);
            Assert.DoesNotContain(secret, JsonSerializer.Serialize(row));
        }

        using var client = host.ClientWith(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/runs")).StatusCode);

        var listed = await CliAsync("keys", "list", "--db", host.ConnectionString);
        Assert.Contains("cli-made", listed.Out);
        Assert.Contains(secret[..ApiKeyStore.DisplayPrefixLength], listed.Out);
        Assert.DoesNotContain(secret, listed.Out);

        var revoked = await CliAsync("keys", "revoke", "cli-made", "--db", host.ConnectionString);
        Assert.Equal(0, revoked.ExitCode);
        await AssertProblemAsync(await client.GetAsync("/api/runs"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_CLI_sends_its_key_from_the_environment_variable()
    {
        var secret = await host.CreateKeyAsync($"env-{Guid.NewGuid():N}", ApiKeyRole.Reader);
        var previous = Environment.GetEnvironmentVariable("PERSONAGYM_API_KEY");
        Environment.SetEnvironmentVariable("PERSONAGYM_API_KEY", secret);
        try
        {
            Assert.Equal(secret, PersonaGym.Cli.Commands.CommonOptions.ResolveApiKey(null));
            Assert.Equal("explicit", PersonaGym.Cli.Commands.CommonOptions.ResolveApiKey("explicit"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PERSONAGYM_API_KEY", previous);
        }
    }

    private static HttpRequestMessage Request(string method, string path) => new(new HttpMethod(method), path)
    {
        Content = method == "POST" ? new StringContent(path.EndsWith("/resume") ? "{}" : SmallRun, Encoding.UTF8, "application/json") : null,
    };

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)expected, json.RootElement.GetProperty("status").GetInt32());
        return json.RootElement.Clone();
    }

    private static async Task<(int ExitCode, string Out, string Error)> CliAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, Interactive = InteractionSupport.No });
        console.Profile.Width = 400;
        var exit = await PersonaGymCli.InvokeAsync(args, new CliConsole(console, error));
        return (exit, output.ToString(), error.ToString());
    }
}

/// <summary>The submission rate limit, per key, with a limit small enough to reach.</summary>
public sealed class RateLimitedApiHost(PostgresServer postgres) : ApiHost(postgres)
{
    protected override void Configure(IWebHostBuilder web) => web.UseSetting("PersonaGym:Auth:SubmissionsPerMinute", "2");
}

[Collection(PostgresServer.Collection)]
public sealed class SubmissionRateLimitTests(RateLimitedApiHost host) : IClassFixture<RateLimitedApiHost>
{
    [Fact]
    public async Task Submissions_beyond_the_per_key_limit_are_429_problems_with_retry_after_and_other_keys_still_submit()
    {
        using var first = host.Client();
        // Invalid requests count too: the limit guards the Api's work, not only the runs it stores.
        var body = """{ "personas": [] }""";
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.BadRequest, (await first.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode);

        using var limited = await first.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(limited.Headers.RetryAfter);

        using var other = host.ClientWith(await host.CreateKeyAsync("second-operator", ApiKeyRole.Operator));
        Assert.Equal(HttpStatusCode.BadRequest, (await other.PostAsync("/api/runs", new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode);
        // Reads are not limited.
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/api/runs")).StatusCode);
    }
}
