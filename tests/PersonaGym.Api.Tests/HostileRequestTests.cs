using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>The Api with the submission rate limit off, so every hostile request reaches validation.</summary>
public sealed class UnlimitedApiHost(PostgresServer postgres) : ApiHost(postgres)
{
    protected override void Configure(IWebHostBuilder web) => web.UseSetting("PersonaGym:Auth:SubmissionsPerMinute", "0");
}

/// <summary>
/// A generated corpus of hostile requests (malformed JSON, wrong types, control characters, oversized fields and
/// bodies, huge lists, injection-like specs and ids): none may produce a 500 or hang, and none may store anything.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class HostileRequestTests(UnlimitedApiHost host) : IClassFixture<UnlimitedApiHost>
{
    private const string Persona = "A 40-year-old baker from Lyon";

    public sealed record Hostile(string Why, string Method, string Path, byte[]? Body, string? ContentType)
    {
        public override string ToString() => Why;
    }

    /// <summary>A valid request with one field replaced by <paramref name="json"/>.</summary>
    private static string With(string field, string json)
    {
        var fields = new Dictionary<string, string>
        {
            ["personas"] = $"[\"{Persona}\"]",
            ["agents"] = "[\"offline:agent\"]",
            ["judges"] = "[\"offline:judge-1\"]",
            ["questionsPerTask"] = "1",
        };
        fields[field] = json;
        return "{" + string.Join(",", fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}";
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    public static IReadOnlyList<Hostile> Corpus()
    {
        var corpus = new List<Hostile>();
        void Post(string why, string body, string? contentType = "application/json") =>
            corpus.Add(new Hostile(why, "POST", "/api/runs", Encoding.UTF8.GetBytes(body), contentType));

        // Malformed JSON.
        foreach (var (why, body) in new[]
                 {
                     ("empty body", ""), ("whitespace", "   "), ("null", "null"), ("array", "[]"), ("number", "42"), ("string", "\"run\""),
                     ("truncated object", "{\"personas\": [\"a\""), ("trailing comma", "{\"personas\": [\"a\",],}"), ("single quotes", "{'personas': ['a']}"),
                     ("comment", "{/* x */ \"personas\": []}"), ("unquoted key", "{personas: []}"), ("two objects", "{}{}"), ("NaN", "{\"questionsPerTask\": NaN}"),
                     ("deep nesting", new string('[', 5000) + new string(']', 5000)), ("deep object nesting", string.Concat(Enumerable.Repeat("{\"a\":", 2000)) + "1" + new string('}', 2000)),
                     ("bare control character", "{\"name\": \"a\u0001b\"}"), ("invalid escape", "{\"name\": \"\\x41\"}"), ("lone surrogate escape", With("personas", "[\"A baker \\ud800 from Lyon\"]")),
                     ("reversed surrogates", With("personas", "[\"A baker \\udc00\\ud800 from Lyon\"]")), ("BOM then garbage", "\uFEFF}{"),
                     ("duplicate keys", "{\"personas\": [\"a\"], \"personas\": null}"), ("huge number", With("questionsPerTask", "1" + new string('0', 400))),
                 })
            Post(why, body);
        corpus.Add(new Hostile("invalid UTF-8", "POST", "/api/runs", [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D], "application/json"));
        corpus.Add(new Hostile("random bytes", "POST", "/api/runs", Enumerable.Range(0, 512).Select(i => (byte)((i * 7919) % 256)).ToArray(), "application/json"));

        // Wrong types, field by field.
        var wrongValues = new[] { "\"text\"", "5", "-1", "1.5", "true", "{}", "[1,2]", "[[\"a\"]]", "[{}]", "[null]", "9223372036854775808", "1e309", "\"\"" };
        foreach (var field in new[] { "personas", "agents", "judges", "environments", "questionsPerTask", "batchSize", "maxCalls", "maxTokens", "personaLimit", "name", "questionSet", "questionWriter", "exemplarWriter" })
        foreach (var value in wrongValues)
        {
            var isList = field is "personas" or "agents" or "judges" or "environments";
            var isNumber = field is "questionsPerTask" or "batchSize" or "maxCalls" or "maxTokens" or "personaLimit";
            // Skip values that are valid for the field (a positive integer for a number, a list of strings for a list).
            if (isNumber && value is "5") continue;
            if (!isList && !isNumber && value is "\"text\"") continue;
            // An empty name, question set or model role means "the default".
            if (field is "name" or "questionSet" or "questionWriter" or "exemplarWriter" && value is "\"\"") continue;
            Post($"{field} = {value}", With(field, value));
        }

        // Out-of-range numbers.
        foreach (var (field, value) in new[] { ("questionsPerTask", "0"), ("questionsPerTask", "101"), ("questionsPerTask", "2147483647"), ("batchSize", "0"), ("batchSize", "21"),
                     ("maxCalls", "0"), ("maxTokens", "-9223372036854775808"), ("personaLimit", "0"), ("personaLimit", "2147483647"), ("questionsPerTask", "-2147483648") })
            Post($"{field} = {value}", With(field, value));

        // Control characters in every text field.
        foreach (var control in new[] { "\u0000", "\u001b[31m", "\u0007", "\u007f", "\u0085", "\u0008", "\u001f" })
        {
            var shown = $"U+{(int)control[0]:X4}";
            Post($"persona with {shown}", With("personas", Quote($"A baker{control} from Lyon").Insert(0, "[") + "]"));
            Post($"agent with {shown}", With("agents", "[" + Quote($"offline:agent{control}") + "]"));
            Post($"judge with {shown}", With("judges", "[" + Quote($"offline:j{control}") + "]"));
            Post($"name with {shown}", With("name", Quote($"run{control}")));
            Post($"environment with {shown}", With("environments", "[" + Quote($"Kitchen{control}") + "]"));
            Post($"question writer with {shown}", With("questionWriter", Quote($"offline:q{control}")));
            Post($"question set with {shown}", With("questionSet", Quote($"set{control}")));
        }

        // Oversized fields.
        foreach (var size in new[] { 4_001, 100_000 })
        {
            Post($"persona of {size} characters", With("personas", "[" + Quote("A" + new string('x', size)) + "]"));
            Post($"agent spec of {size} characters", With("agents", "[" + Quote("offline:" + new string('a', size)) + "]"));
            Post($"judge spec of {size} characters", With("judges", "[" + Quote("openai:" + new string('a', size)) + "]"));
            Post($"name of {size} characters", With("name", Quote(new string('n', size))));
            Post($"environment of {size} characters", With("environments", "[" + Quote(new string('e', size)) + "]"));
            Post($"question set of {size} characters", With("questionSet", Quote(new string('s', size))));
            Post($"exemplar writer of {size} characters", With("exemplarWriter", Quote("offline:" + new string('w', size))));
        }

        // Huge lists.
        Post("100,000 personas", With("personas", "[" + string.Join(",", Enumerable.Range(0, 100_000).Select(i => $"\"Persona number {i}, a baker\"")) + "]"));
        Post("3,000 personas", With("personas", "[" + string.Join(",", Enumerable.Range(0, 3_000).Select(i => $"\"Persona number {i}, a baker\"")) + "]"));
        Post("1,000 agents", With("agents", "[" + string.Join(",", Enumerable.Range(0, 1_000).Select(i => $"\"offline:a{i}\"")) + "]"));
        Post("1,000 judges", With("judges", "[" + string.Join(",", Enumerable.Range(0, 1_000).Select(i => $"\"offline:j{i}\"")) + "]"));
        Post("10,000 environments", With("environments", "[" + string.Join(",", Enumerable.Range(0, 10_000).Select(i => $"\"Env {i}\"")) + "]"));
        Post("too much work in total", "{\"personas\": [" + string.Join(",", Enumerable.Range(0, 2_000).Select(i => $"\"Persona {i}, a baker\"")) +
                                        "], \"agents\": [" + string.Join(",", Enumerable.Range(0, 10).Select(i => $"\"offline:a{i}\"")) + "], \"questionsPerTask\": 100, \"batchSize\": 1}");
        Post("body over the byte limit", With("name", Quote(new string('b', 17 * 1024 * 1024))));

        // Injection-like specs, ids and names.
        foreach (var spec in new[]
                 {
                     "openai:gpt'; DROP TABLE \"Runs\";--", "openai:${jndi:ldap://127.0.0.1/a}@ldap://127.0.0.1/a", "../../etc/passwd", "file:///etc/passwd", "openai:gpt@file:///etc/passwd",
                     "openai:gpt@http://user:pass@127.0.0.1/v1", "openai:gpt@http://169.254.169.254/latest/meta-data", "openai:gpt@http://[::ffff:169.254.169.254]/",
                     "openai:gpt@http://2852039166/", "openai:gpt@http://0x7f000001/", "ollama:x@http://0.0.0.0:11434", "gemini:pro", ":", "offline:", "@", "openai:@http://127.0.0.1",
                     "offline:a\nb", "offline:<script>alert(1)</script>\u0000",
                 })
        {
            Post($"agent {spec}", With("agents", "[" + Quote(spec) + "]"));
            Post($"question writer {spec}", With("questionWriter", Quote(spec)));
        }

        foreach (var set in new[] { "'; DELETE FROM \"Runs\";--", "x' OR '1'='1", "../../../../etc/passwd", "%00", "set@'; --", "nosuchset@1" })
            Post($"question set {set}", With("questionSet", Quote(set)));

        foreach (var environment in new[] { "'; DROP TABLE x;--", "<img src=x onerror=alert(1)>", "Kitchen\" OR \"1\"=\"1" })
            Post($"environment {environment}", With("environments", "[" + Quote(environment) + "]"));

        // Content types.
        foreach (var type in new[] { "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/json; charset=bogus", "application/json; charset=utf-32" })
            Post($"content type {type}", With("name", "\"x\"").Replace(Persona, ""), type);
        corpus.Add(new Hostile("no content type", "POST", "/api/runs", Encoding.UTF8.GetBytes(With("name", "\"x\"")), null));

        // Ids, paths and methods.
        var missing = Guid.Parse("0190a000-0000-7000-8000-00000000dead");
        foreach (var path in new[]
                 {
                     "/api/runs/not-a-guid", "/api/runs/%2500", "/api/runs/..%2f..%2fetc%2fpasswd", "/api/runs/' OR 1=1--", "/api/runs/" + new string('9', 5000),
                     $"/api/runs/{missing}", $"/api/runs/{missing}/results", $"/api/runs/{missing}/validity", "/api/runs?limit=-1&offset=99999999999999999999",
                     "/api/runs/00000000-0000-0000-0000-000000000000", "/api/leaderboard?x=%ff%fe", "/api/question-sets?name=';--", "/%2e%2e/%2e%2e/etc/passwd",
                 })
            corpus.Add(new Hostile($"GET {path[..Math.Min(path.Length, 60)]}", "GET", path, null, null));

        foreach (var body in new[] { "garbage", "{\"maxCalls\": -1}", "{\"maxCalls\": \"x\"}", "{\"maxTokens\": 1e400}", "[]", "{\"maxCalls\": 0}" })
            corpus.Add(new Hostile($"resume unknown run with {body}", "POST", $"/api/runs/{missing}/resume", Encoding.UTF8.GetBytes(body), "application/json"));
        corpus.Add(new Hostile("resume a non-guid", "POST", "/api/runs/x/resume", "{}"u8.ToArray(), "application/json"));

        foreach (var method in new[] { "PUT", "DELETE", "PATCH" })
            corpus.Add(new Hostile($"{method} /api/runs", method, "/api/runs", Encoding.UTF8.GetBytes(With("name", "\"x\"")), "application/json"));

        return corpus;
    }

    [Fact]
    public void The_corpus_holds_at_least_200_hostile_requests()
    {
        Assert.True(Corpus().Count >= 200, $"{Corpus().Count} requests");
    }

    [Fact]
    public async Task No_hostile_request_gets_a_500_or_hangs_and_none_stores_anything()
    {
        var before = await CountsAsync();
        using var client = host.Client();
        client.Timeout = TimeSpan.FromSeconds(30);
        var failures = new List<string>();

        foreach (var hostile in Corpus())
        {
            using var request = new HttpRequestMessage(new HttpMethod(hostile.Method), hostile.Path);
            if (hostile.Body is not null)
            {
                request.Content = new ByteArrayContent(hostile.Body);
                if (hostile.ContentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(hostile.ContentType);
            }

            try
            {
                using var response = await client.SendAsync(request);
                if ((int)response.StatusCode >= 500 || (hostile.Method != "GET" && response.IsSuccessStatusCode))
                    failures.Add($"{hostile.Why}: {(int)response.StatusCode} {Shorten(await response.Content.ReadAsStringAsync())}");
            }
            catch (TaskCanceledException)
            {
                failures.Add($"{hostile.Why}: no answer in 30 s");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await CountsAsync());
    }

    private async Task<(int Runs, int Personas, int Sets)> CountsAsync()
    {
        await using var db = host.Database();
        return (await db.Runs.CountAsync(), await db.Personas.CountAsync(), await db.QuestionSets.CountAsync());
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;
}
