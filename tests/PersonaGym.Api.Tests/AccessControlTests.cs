using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Api.Security;
using PersonaGym.Cli;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Testing;
using Spectre.Console;

namespace PersonaGym.Api.Tests;

/// <summary>
/// Who may call what: 401 without a valid key or token, 403 for the wrong role, and keys made and revoked by the CLI.
/// The endpoints are read from the running Api (<see cref="MappedEndpoints"/>), so one added later is covered too.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class AccessControlTests(AccessControlTests.RunApiHost host) : IClassFixture<AccessControlTests.RunApiHost>
{
    private const string SmallRun = """{ "personas": ["A 40-year-old baker from Lyon"], "agents": ["offline:agent"], "judges": ["offline:judge-1"], "questionsPerTask": 1 }""";

    /// <summary>
    /// What is open without credentials, as docs/security.md states it: the probes and the OpenAPI document. Kept
    /// explicit and small: anything else the Api maps must refuse an anonymous caller.
    /// </summary>
    private static readonly string[] OpenEndpoints = ["GET /health", "GET /alive", "GET /openapi/{documentName}.json"];

    /// <summary>What spends money or starts work needs the operator role (docs/security.md); the estimate plans a submission.</summary>
    private static readonly string[] OperatorEndpoints =
        ["POST /api/runs", "POST /api/runs/{id:guid}/resume", "POST /api/runs/{id:guid}/cancel", "POST /api/runs/estimate"];

    /// <summary>The Api with one finished run, so every route is filled with ids that exist and reaches its endpoint.</summary>
    public sealed class RunApiHost(PostgresServer postgres) : ApiHost(postgres)
    {
        private Dictionary<string, string> _routeValues = [];

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            using var client = Client();
            using var submitted = await client.PostAsync("/api/runs", new StringContent(SmallRun, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
            var location = submitted.Headers.Location!.ToString();
            var run = await WaitUntilSettledAsync(client, location);
            Assert.Equal(RunStatus.Completed, run.Summary.Status);
            var runId = run.Summary.RunId;
            await using var db = Database();
            _routeValues = new Dictionary<string, string>
            {
                ["id"] = runId.ToString(),
                ["personaId"] = (await db.RunPersonas.Where(p => p.RunId == runId).Select(p => p.PersonaId).FirstAsync()).ToString(),
                ["answerId"] = (await db.Answers.Where(a => a.RunId == runId).Select(a => a.Id).FirstAsync()).ToString(),
                ["documentName"] = "v1",
            };
        }

        /// <summary>Every endpoint the running Api maps, with the finished run's ids in its route.</summary>
        public IReadOnlyList<MappedEndpoint> Endpoints() => MappedEndpoints.Of(Factory.Services, _routeValues);

        public IReadOnlyList<MappedEndpoint> ProtectedEndpoints() => Endpoints().Where(e => !OpenEndpoints.Contains(e.ToString())).ToList();
    }

    [Fact]
    public void The_endpoints_read_from_the_running_Api_cover_every_group_of_it()
    {
        var endpoints = host.Endpoints().Select(e => e.ToString()).ToList();

        // An empty or partial data source must not pass the tests below by having nothing to check.
        Assert.True(endpoints.Count >= 25, $"{endpoints.Count} endpoints: {string.Join(", ", endpoints)}");
        Assert.Equal(endpoints.Count, endpoints.Distinct().Count());
        foreach (var expected in new[]
                 {
                     "GET /", "GET /api/me", "POST /api/runs", "GET /api/runs", "GET /api/runs/overview", "POST /api/runs/estimate", "GET /api/leaderboard",
                     "GET /api/leaderboard/reference", "GET /api/question-sets", "GET /api/runs/{id:guid}/personas", "GET /api/runs/{id:guid}/personas/{personaId:guid}",
                     "GET /api/runs/{id:guid}/questions", "GET /api/runs/{id:guid}/answers", "GET /api/runs/{id:guid}/verdicts", "GET /api/runs/{id:guid}/progress",
                     "POST /api/runs/{id:guid}/cancel", "POST /api/runs/{id:guid}/resume", "GET /api/runs/{id:guid}/ratings/sample",
                     "PUT /api/runs/{id:guid}/ratings/{answerId:guid}", "GET /api/runs/{id:guid}/ratings/agreement", "GET /api/runs/{id:guid}/ratings/export",
                 })
            Assert.Contains(expected, endpoints);
        foreach (var open in OpenEndpoints) Assert.Contains(open, endpoints);
    }

    [Fact]
    public void Only_the_probes_and_the_OpenAPI_document_are_open_as_docs_security_md_states()
    {
        var endpoints = host.Endpoints();

        Assert.Equal(OpenEndpoints.Order(StringComparer.Ordinal), endpoints.Where(e => e.Anonymous).Select(e => e.ToString()).Order(StringComparer.Ordinal));
        // The page names the open paths in one sentence: "The Api authenticates every request except `/health`, …".
        var security = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "security.md"));
        var sentence = security[security.IndexOf("The Api authenticates every request except", StringComparison.Ordinal)..];
        sentence = sentence[..sentence.IndexOf('(')];
        var documented = Regex.Matches(sentence, "`([^`]+)`").Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal);
        Assert.Equal(documented, endpoints.Where(e => e.Anonymous).Select(e => e.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Operator_endpoints_are_the_ones_that_spend_or_plan_spending()
    {
        var operatorOnly = host.Endpoints().Where(e => e.Policies.Contains(PersonaGymPolicies.Operate)).Select(e => e.ToString());

        Assert.Equal(OperatorEndpoints.Order(StringComparer.Ordinal), operatorOnly.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Every_endpoint_but_the_open_ones_is_a_401_problem_without_credentials_and_stores_nothing()
    {
        using var client = host.AnonymousClient();
        var before = await host.StoredStateAsync();

        var failures = await EndpointProbe.FailuresAsync(client, host.ProtectedEndpoints(), async (_, response) =>
            await EndpointProbe.UnauthorizedProblemAsync(response, "Authentication is required") ?? (response.Headers.WwwAuthenticate.ToString().Contains("ApiKey") ? null : "no ApiKey challenge"));

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await host.StoredStateAsync());
    }

    [Theory]
    [InlineData("X-Api-Key")]
    [InlineData("Authorization: ApiKey")]
    public async Task Every_endpoint_but_the_open_ones_is_a_401_problem_with_an_unknown_key(string sentAs)
    {
        using var client = host.AnonymousClient();
        var unknown = ApiKeyStore.NewSecret();
        if (sentAs == "X-Api-Key") client.DefaultRequestHeaders.Add("X-Api-Key", unknown);
        else client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", unknown);
        var before = await host.StoredStateAsync();

        var failures = await EndpointProbe.FailuresAsync(client, host.ProtectedEndpoints(), (_, response) => EndpointProbe.UnauthorizedProblemAsync(response, "The Api key is not valid"));

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await host.StoredStateAsync());
    }

    [Theory]
    [InlineData("not-a-token")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJyb2xlcyI6WyJvcGVyYXRvciJdfQ.")]
    public async Task Every_endpoint_but_the_open_ones_is_a_401_problem_with_a_bearer_token_where_Entra_ID_is_not_configured(string token)
    {
        using var client = host.AnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var before = await host.StoredStateAsync();

        var failures = await EndpointProbe.FailuresAsync(client, host.ProtectedEndpoints(), (_, response) => EndpointProbe.UnauthorizedProblemAsync(response, "Authentication is required"));

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await host.StoredStateAsync());
    }

    [Fact]
    public async Task With_an_operator_key_every_endpoint_answers_for_itself()
    {
        using var client = host.Client();

        // Not 401 or 403; and not 404 or 405 either, which with ids that exist would mean the path missed its route. No
        // body is sent, so nothing is submitted, rated or changed (a resumed finished run completes again at once).
        var failures = await EndpointProbe.FailuresAsync(client, host.Endpoints(), (_, response) => Task.FromResult(
            response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed
                ? $"{(int)response.StatusCode}" : null), acceptable: _ => false);

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task A_reader_key_reads_everything_but_gets_a_403_problem_where_an_operator_is_needed()
    {
        using var client = host.ClientWith(await host.CreateKeyAsync($"reader-{Guid.NewGuid():N}", ApiKeyRole.Reader));
        var before = await host.StoredStateAsync();

        var failures = await EndpointProbe.FailuresAsync(client, host.ProtectedEndpoints(), async (endpoint, response) =>
        {
            if (!OperatorEndpoints.Contains(endpoint.ToString()))
                return response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound ? $"{(int)response.StatusCode}" : null;
            if (response.StatusCode != HttpStatusCode.Forbidden) return $"{(int)response.StatusCode}, not 403";
            return await EndpointProbe.ProblemAsync(response, HttpStatusCode.Forbidden) is { } problem && problem.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 }
                ? null : "not a 403 problem with a detail";
        }, acceptable: endpoint => OperatorEndpoints.Contains(endpoint.ToString()));

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await host.StoredStateAsync());
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
        // Settled before the next test, whose "stores nothing" compares what is stored.
        await host.WaitUntilSettledAsync(client, response.Headers.Location!.ToString());
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
    public async Task The_OpenAPI_document_requires_the_api_key_on_every_operation_and_declares_no_bearer_scheme_without_Entra_ID()
    {
        using var client = host.AnonymousClient();

        using var json = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));

        var schemes = json.RootElement.GetProperty("components").GetProperty("securitySchemes");
        var scheme = schemes.GetProperty("ApiKey");
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("X-Api-Key", scheme.GetProperty("name").GetString());
        Assert.False(schemes.TryGetProperty("Bearer", out _), "a Bearer scheme without Entra ID configured");
        var operations = OpenApiOperations(json.RootElement);
        // Every described operation is a protected endpoint, and every protected endpoint but the landing page is described.
        var described = host.ProtectedEndpoints().Where(e => e.Pattern != "/").Select(e => $"{e.Method} {Regex.Replace(e.Pattern, "{([^:}]+)[^}]*}", "{$1}")}");
        Assert.Equal(described.Order(StringComparer.Ordinal), operations.Select(o => o.Name).Order(StringComparer.Ordinal));
        foreach (var (name, operation) in operations)
        {
            var security = operation.GetProperty("security").EnumerateArray().Select(r => string.Join("+", r.EnumerateObject().Select(p => p.Name))).ToList();
            Assert.True(security.SequenceEqual(["ApiKey"]), $"{name}: security {string.Join(", ", security)}");
            Assert.True(operation.GetProperty("responses").TryGetProperty("401", out _), $"{name}: no 401");
            Assert.True(operation.GetProperty("responses").TryGetProperty("403", out _), $"{name}: no 403");
        }
    }

    /// <summary>Every operation of an OpenAPI document, named "METHOD /path".</summary>
    public static IReadOnlyList<(string Name, JsonElement Operation)> OpenApiOperations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject()
                .Where(o => o.Name is "get" or "put" or "post" or "delete" or "patch" or "head" or "options" or "trace")
                .Select(o => ($"{o.Name.ToUpperInvariant()} {path.Name}", o.Value.Clone())))
            .ToList();

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
