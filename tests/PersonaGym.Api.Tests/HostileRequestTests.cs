using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>The Api with the submission rate limit off, so every hostile request reaches validation.</summary>
public sealed class UnlimitedApiHost(PostgresServer postgres) : ApiHost(postgres)
{
    protected override void Configure(IWebHostBuilder web)
    {
        web.UseSetting("PersonaGym:Auth:SubmissionsPerMinute", "0");
        // As deployed: refusals must say why without the Development defaults (which throw on bad parameters).
        web.UseEnvironment("Production");
    }
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

        /// <summary>The request as sent: the bytes as they are, with the content type only when one is given.</summary>
        public HttpRequestMessage Request()
        {
            var request = new HttpRequestMessage(new HttpMethod(Method), Path);
            if (Body is null) return request;
            request.Content = new ByteArrayContent(Body);
            if (ContentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
            return request;
        }
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

    /// <summary>
    /// Hostile requests to the other endpoints that store or plan: rating an answer of <paramref name="run"/>, cancelling
    /// (the run is finished), and the estimate (every submission body of <see cref="Corpus"/>, and content types on a
    /// valid one). Every one is refused.
    /// </summary>
    public static IReadOnlyList<Hostile> StateCorpus(Guid run, Guid answer, Guid otherRunsAnswer)
    {
        var corpus = new List<Hostile>();
        var missing = Guid.Parse("0190a000-0000-7000-8000-00000000dead");
        var rating = $"/api/runs/{run}/ratings/{answer}";
        void Rate(string why, string? body, string? contentType = "application/json", string? path = null, string method = "PUT") =>
            corpus.Add(new Hostile($"rating: {why}", method, path ?? rating, body is null ? null : Encoding.UTF8.GetBytes(body), contentType));
        string RatingWith(string rater, string score) => $"{{\"rater\":{rater},\"score\":{score}}}";

        // Malformed JSON.
        foreach (var (why, body) in new[]
                 {
                     ("empty body", ""), ("whitespace", "   "), ("null", "null"), ("array", "[]"), ("number", "42"), ("string", "\"ana\""), ("empty object", "{}"),
                     ("truncated object", "{\"rater\": \"ana\""), ("trailing comma", "{\"rater\": \"ana\", \"score\": 4,}"), ("single quotes", "{'rater': 'ana', 'score': 4}"),
                     ("comment", "{/* x */ \"rater\": \"ana\", \"score\": 4}"), ("unquoted key", "{rater: \"ana\", score: 4}"), ("two objects", "{}{}"),
                     ("deep nesting", new string('[', 5000) + new string(']', 5000)), ("deep object nesting", string.Concat(Enumerable.Repeat("{\"a\":", 2000)) + "1" + new string('}', 2000)),
                     ("BOM then garbage", "\uFEFF}{"), ("bare control character", "{\"rater\": \"a\u0001b\", \"score\": 4}"), ("invalid escape", "{\"rater\": \"\\x41\", \"score\": 4}"),
                 })
            Rate(why, body);
        corpus.Add(new Hostile("rating: invalid UTF-8", "PUT", rating, [0x7B, 0x22, 0x72, 0x61, 0x74, 0x65, 0x72, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x2C, 0x22, 0x73, 0x63, 0x6F, 0x72, 0x65, 0x22, 0x3A, 0x34, 0x7D], "application/json"));
        corpus.Add(new Hostile("rating: random bytes", "PUT", rating, Enumerable.Range(0, 512).Select(i => (byte)((i * 7919) % 256)).ToArray(), "application/json"));

        // Scores out of range or of the wrong type.
        foreach (var score in new[] { "0", "6", "-1", "3.5", "\"4\"", "true", "null", "{}", "[4]", "1e400", "NaN", "2147483648", "-2147483649", "9223372036854775808", "1" + new string('0', 400), "\"5; DROP TABLE \\\"HumanRatings\\\";--\"" })
            Rate($"score = {score[..Math.Min(score.Length, 40)]}", RatingWith("\"ana\"", score));
        Rate("no score", "{\"rater\": \"ana\"}");
        Rate("duplicate score, the last out of range", "{\"rater\": \"ana\", \"score\": 4, \"score\": 9}");

        // Raters: missing, blank, too long, of the wrong type, or holding what cannot be stored.
        foreach (var rater in new[] { "null", "\"\"", "\"   \"", "5", "true", "[\"ana\"]", "{}", Quote(new string('r', 201)), Quote(new string('r', 100_000)), "\"ana\\ud800\"", "\"\\udc00\\ud800\"" })
            Rate($"rater = {rater[..Math.Min(rater.Length, 40)]}", RatingWith(rater, "4"));
        Rate("no rater", "{\"score\": 4}");
        foreach (var control in new[] { "\u0000", "\u001b[31m", "\u0007", "\u007f", "\u0085", "\u0008", "\u001f" })
            Rate($"rater with U+{(int)control[0]:X4}", RatingWith(Quote($"ana{control}"), "4"));
        Rate("body over the byte limit", RatingWith(Quote(new string('b', 17 * 1024 * 1024)), "4"));

        // Content types.
        foreach (var type in new[] { "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/json; charset=bogus", "application/json; charset=utf-32" })
            Rate($"content type {type}", RatingWith("\"ana\"", "4"), type);
        Rate("no content type", RatingWith("\"ana\"", "4"), contentType: null);
        Rate("no body", null, contentType: null);

        // Ids, paths and methods.
        foreach (var (why, path) in new[]
                 {
                     ("unknown answer", $"/api/runs/{run}/ratings/{missing}"), ("another run's answer", $"/api/runs/{run}/ratings/{otherRunsAnswer}"),
                     ("unknown run", $"/api/runs/{missing}/ratings/{answer}"), ("non-guid answer", $"/api/runs/{run}/ratings/not-a-guid"),
                     ("injection answer id", $"/api/runs/{run}/ratings/' OR 1=1--"), ("traversal answer id", $"/api/runs/{run}/ratings/..%2f..%2fetc%2fpasswd"),
                     ("huge answer id", $"/api/runs/{run}/ratings/" + new string('9', 5000)), ("encoded NUL answer id", $"/api/runs/{run}/ratings/%2500"),
                     ("non-guid run", $"/api/runs/x/ratings/{answer}"), ("empty guid run", $"/api/runs/{Guid.Empty}/ratings/{answer}"),
                 })
            Rate(why, RatingWith("\"ana\"", "4"), path: path);
        foreach (var method in new[] { "POST", "DELETE", "PATCH" })
            Rate($"{method} instead of PUT", RatingWith("\"ana\"", "4"), method: method);

        // The sample's rater is the same name, read from the query.
        foreach (var (why, query) in new[] { ("no rater", ""), ("blank rater", "?rater=%20"), ("rater with NUL", "?rater=ana%00"), ("rater with ESC", "?rater=ana%1b%5b31m"),
                     ("rater too long", "?rater=" + new string('r', 201)), ("size 0", "?rater=ana&size=0"), ("size too large", "?rater=ana&size=501"), ("size not a number", "?rater=ana&size=x"),
                     ("size overflowing", "?rater=ana&size=99999999999999999999") })
            Rate($"sample, {why}", null, contentType: null, path: $"/api/runs/{run}/ratings/sample{query}", method: "GET");

        // Cancelling: the run is finished, others do not exist, and the body means nothing.
        void Cancel(string why, string path, string? body = null, string method = "POST") =>
            corpus.Add(new Hostile($"cancel: {why}", method, path, body is null ? null : Encoding.UTF8.GetBytes(body), body is null ? null : "application/json"));
        Cancel("a finished run", $"/api/runs/{run}/cancel");
        Cancel("a finished run, with garbage", $"/api/runs/{run}/cancel", "garbage{");
        Cancel("a finished run, with a huge body", $"/api/runs/{run}/cancel", Quote(new string('c', 17 * 1024 * 1024)));
        Cancel("an unknown run", $"/api/runs/{missing}/cancel");
        Cancel("the empty guid", $"/api/runs/{Guid.Empty}/cancel");
        foreach (var id in new[] { "not-a-guid", "' OR 1=1--", "%2500", "..%2f..%2fetc%2fpasswd", new string('9', 5000), "*", $"{run}%20OR%201=1", $"{run}/.." })
            Cancel($"id {id[..Math.Min(id.Length, 40)]}", $"/api/runs/{id}/cancel");
        foreach (var method in new[] { "GET", "PUT", "DELETE", "PATCH" })
            Cancel($"{method} instead of POST", $"/api/runs/{run}/cancel", method: method);

        // The estimate: what a submission refuses, it refuses too.
        corpus.AddRange(Corpus().Where(h => h is { Method: "POST", Path: "/api/runs" }).Select(h => h with { Why = $"estimate: {h.Why}", Path = "/api/runs/estimate" }));
        foreach (var type in new[] { "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/json; charset=bogus", "application/json; charset=utf-32" })
            corpus.Add(new Hostile($"estimate: valid body as {type}", "POST", "/api/runs/estimate", Encoding.UTF8.GetBytes(With("name", "\"x\"")), type));
        corpus.Add(new Hostile("estimate: valid body without a content type", "POST", "/api/runs/estimate", Encoding.UTF8.GetBytes(With("name", "\"x\"")), null));
        foreach (var method in new[] { "GET", "PUT", "DELETE" })
            corpus.Add(new Hostile($"estimate: {method}", method, "/api/runs/estimate", Encoding.UTF8.GetBytes(With("name", "\"x\"")), "application/json"));
        return corpus;
    }

    [Fact]
    public void The_corpus_holds_at_least_200_hostile_requests()
    {
        Assert.True(Corpus().Count >= 200, $"{Corpus().Count} requests");
        var state = StateCorpus(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        Assert.True(state.Count(h => h.Why.StartsWith("rating:", StringComparison.Ordinal)) >= 50, "rating requests");
        Assert.True(state.Count(h => h.Why.StartsWith("cancel:", StringComparison.Ordinal)) >= 15, "cancel requests");
        Assert.True(state.Count(h => h.Why.StartsWith("estimate:", StringComparison.Ordinal)) >= 200, "estimate requests");
    }

    [Fact]
    public async Task No_hostile_submission_gets_a_500_hangs_or_is_refused_without_saying_why_and_none_stores_anything()
    {
        var before = await CountsAsync();
        using var client = host.Client();
        client.Timeout = TimeSpan.FromSeconds(30);
        var failures = new List<string>();

        foreach (var hostile in Corpus())
        {
            try
            {
                using var response = await client.SendAsync(hostile.Request());
                // A read may answer (a list that ignores an unknown query); anything else is a refusal that says why.
                if (!(hostile.Method == "GET" && response.IsSuccessStatusCode) && await ProblemFailureAsync(response) is { } failure)
                    failures.Add($"{hostile.Why}: {failure}");
            }
            catch (TaskCanceledException)
            {
                failures.Add($"{hostile.Why}: no answer in 30 s");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await CountsAsync());
    }

    [Fact]
    public async Task Every_hostile_rating_cancel_or_estimate_request_is_a_4xx_problem_that_says_why_and_changes_nothing_stored()
    {
        using var client = host.Client();
        client.Timeout = TimeSpan.FromSeconds(30);
        var run = await CompletedRunAsync(client, "hostile-ratings");
        var other = await CompletedRunAsync(client, "hostile-ratings-other");
        Guid answer, otherRunsAnswer;
        await using (var db = host.Database())
        {
            answer = await db.Answers.Where(a => a.RunId == run).OrderBy(a => a.Id).Select(a => a.Id).FirstAsync();
            otherRunsAnswer = await db.Answers.Where(a => a.RunId == other).OrderBy(a => a.Id).Select(a => a.Id).FirstAsync();
        }

        // A rating to lose: a hostile request must neither replace it nor add another.
        using (var rated = await client.PutAsync($"/api/runs/{run}/ratings/{answer}", new StringContent("""{"rater": "ana", "score": 3}""", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.NoContent, rated.StatusCode);
        var before = await host.StoredStateAsync();
        var failures = new List<string>();

        foreach (var hostile in StateCorpus(run, answer, otherRunsAnswer))
        {
            try
            {
                using var response = await client.SendAsync(hostile.Request());
                if (await ProblemFailureAsync(response) is { } failure) failures.Add($"{hostile.Why}: {failure}");
            }
            catch (TaskCanceledException)
            {
                failures.Add($"{hostile.Why}: no answer in 30 s");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await host.StoredStateAsync());
    }

    /// <summary>Every endpoint that takes a body, read from the running Api, so one added later is held to the same bounds.</summary>
    private List<MappedEndpoint> EndpointsTakingABody() =>
        MappedEndpoints.Of(host.Factory.Services, MappedEndpoints.UnknownIds())
            .Where(e => e.Method is "POST" or "PUT" or "PATCH").ToList();

    [Fact]
    public async Task A_body_declared_larger_than_the_limit_is_a_413_problem_naming_the_setting_on_every_endpoint_that_takes_a_body()
    {
        using var client = host.Client();
        var body = new byte[17 * 1024 * 1024];
        var endpoints = EndpointsTakingABody();
        var before = await host.StoredStateAsync();
        var failures = new List<string>();

        foreach (var endpoint in endpoints)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(endpoint.Method), endpoint.Path) { Content = content });
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.RequestEntityTooLarge || !text.Contains("MaxRequestBodyBytes", StringComparison.Ordinal))
                failures.Add($"{endpoint}: {(int)response.StatusCode} {Shorten(text)}");
        }

        Assert.True(endpoints.Count >= 5, $"{endpoints.Count} endpoints take a body");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await host.StoredStateAsync());
    }

    [Theory]
    [InlineData("utf-16")]
    [InlineData("utf-32")]
    [InlineData("iso-8859-1")]
    [InlineData("bogus")]
    public async Task A_JSON_body_in_a_charset_other_than_UTF8_is_a_415_problem_on_every_endpoint_that_takes_a_body(string charset)
    {
        using var client = host.Client();
        var failures = new List<string>();

        foreach (var endpoint in EndpointsTakingABody())
        {
            using var content = new ByteArrayContent("{}"u8.ToArray());
            content.Headers.ContentType = MediaTypeHeaderValue.Parse($"application/json; charset={charset}");
            using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(endpoint.Method), endpoint.Path) { Content = content });
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.UnsupportedMediaType || !text.Contains("UTF-8", StringComparison.Ordinal))
                failures.Add($"{endpoint}: {(int)response.StatusCode} {Shorten(text)}");
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>Null when the answer is a 4xx RFC 7807 problem with a title and a detail (or field errors) that say what was wrong.</summary>
    private static async Task<string?> ProblemFailureAsync(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync();
        if (status is < 400 or >= 500) return $"{status} {Shorten(body)}";
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") return $"{status} as {response.Content.Headers.ContentType} {Shorten(body)}";
        using var json = JsonDocument.Parse(body);
        var problem = json.RootElement;
        if (!problem.TryGetProperty("status", out var stated) || stated.GetInt32() != status) return $"{status}, a problem stating another status: {Shorten(body)}";
        if (!problem.TryGetProperty("title", out var title) || title.GetString() is not { Length: > 0 }) return $"{status}, a problem without a title: {Shorten(body)}";
        var says = (problem.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 }) || problem.TryGetProperty("errors", out _);
        return says ? null : $"{status}, a problem that does not say why: {Shorten(body)}";
    }

    private async Task<Guid> CompletedRunAsync(HttpClient client, string name)
    {
        using var response = await client.PostAsJsonAsync("/api/runs", Requests.SmallOfflineRun(name), PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var details = await host.WaitUntilSettledAsync(client, response.Headers.Location!.ToString());
        Assert.Equal(RunStatus.Completed, details.Summary.Status);
        return details.Summary.RunId;
    }

    private async Task<(int Runs, int Personas, int Sets)> CountsAsync()
    {
        await using var db = host.Database();
        return (await db.Runs.CountAsync(), await db.Personas.CountAsync(), await db.QuestionSets.CountAsync());
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;
}
