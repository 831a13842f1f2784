using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using PersonaGym.Core.Reports;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Web.Account;

namespace PersonaGym.Web.Api;

/// <summary>
/// Every call the web app makes to the Api goes through this one typed client (registered in
/// <see cref="WebServiceExtensions.AddPersonaGymWeb{TBuilder}"/> with the base address <c>https+http://api</c>,
/// resolved by Aspire service discovery). The shapes are the Api's own records (PersonaGym.Pipeline).
/// Every request carries the signed-in person's own credential (<see cref="IApiCredentials"/>): the client is resolved
/// from the person's scope (their circuit, or their request), and the web app has no credential of its own. A 401 ends
/// the person's session (<see cref="SignedInUser.EndSession"/>); a 403 is reported as needing the operator role.
/// </summary>
public sealed class PersonaGymApiClient(HttpClient http, IHttpClientFactory clients, SignedInUser user, IApiCredentials credentials)
{
    /// <summary>The named client for long-lived streams: the same address, without the request timeouts of the resilience handler.</summary>
    public const string StreamClientName = "api-stream";

    public Task<List<RunOverviewItem>> RunsAsync(CancellationToken ct = default) =>
        GetAsync<List<RunOverviewItem>>("api/runs/overview", ct);

    public Task<RunDetails?> RunAsync(Guid id, CancellationToken ct = default) => FindAsync<RunDetails>($"api/runs/{id}", ct);

    /// <summary>The run's report, read from the Api's documented JSON shape; null when there is no such run.</summary>
    public async Task<RunReport?> ReportAsync(Guid id, CancellationToken ct = default)
    {
        var json = await ResultsJsonAsync(id, ct);
        return json is null ? null : RunReportReader.FromJson(json, $"the Api's response for run {id}");
    }

    /// <summary>The report exactly as the Api serves it (the export's JSON); null when there is no such run.</summary>
    public async Task<string?> ResultsJsonAsync(Guid id, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Get, $"api/runs/{id}/results", null, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    public Task<Page<RunPersonaItem>?> PersonasAsync(Guid id, int offset, int limit, CancellationToken ct = default) =>
        FindAsync<Page<RunPersonaItem>>($"api/runs/{id}/personas?offset={offset}&limit={limit}", ct);

    public Task<PersonaEvidence?> PersonaAsync(Guid id, Guid personaId, CancellationToken ct = default) =>
        FindAsync<PersonaEvidence>($"api/runs/{id}/personas/{personaId}", ct);

    public Task<List<LeaderboardEntry>> LeaderboardAsync(CancellationToken ct = default) =>
        GetAsync<List<LeaderboardEntry>>("api/leaderboard", ct);

    public Task<List<ReferenceEntry>> ReferenceScoresAsync(CancellationToken ct = default) =>
        GetAsync<List<ReferenceEntry>>("api/leaderboard/reference", ct);

    public Task<List<QuestionSetListItem>> QuestionSetsAsync(CancellationToken ct = default) =>
        GetAsync<List<QuestionSetListItem>>("api/question-sets", ct);

    /// <summary>Submits a run: the accepted run, or the Api's validation problems (field → messages).</summary>
    public async Task<ApiOutcome<RunAccepted>> SubmitAsync(RunRequest request, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/runs", Json(request), ct);
        return await OutcomeAsync<RunAccepted>(response, ct);
    }

    public Task<RatingSample?> RatingSampleAsync(Guid id, string rater, int size, CancellationToken ct = default) =>
        FindAsync<RatingSample>($"api/runs/{id}/ratings/sample?rater={Uri.EscapeDataString(rater)}&size={size}", ct);

    public async Task<ApiProblem?> RateAsync(Guid id, Guid answerId, string rater, int score, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Put, $"api/runs/{id}/ratings/{answerId}", Json(new RatingRequest(rater, score)), ct);
        return response.IsSuccessStatusCode ? null : await ApiProblem.ReadAsync(response, ct);
    }

    public Task<RatingAgreement?> RatingAgreementAsync(Guid id, CancellationToken ct = default) =>
        FindAsync<RatingAgreement>($"api/runs/{id}/ratings/agreement", ct);

    /// <summary>One model's ratings in the <c>calibrate --human</c> CSV; null when the Api refuses (unknown run or model).</summary>
    public async Task<string?> RatingsCsvAsync(Guid id, string agent, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Get, $"api/runs/{id}/ratings/export?agent={Uri.EscapeDataString(agent)}", null, ct);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(ct) : null;
    }

    /// <summary>Checks a run request and estimates it, storing nothing: the estimate, or the problems per field.</summary>
    public async Task<ApiOutcome<RunEstimate>> EstimateAsync(RunRequest request, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/runs/estimate", Json(request), ct);
        return await OutcomeAsync<RunEstimate>(response, ct);
    }

    public async Task<ApiOutcome<RunResumed>> ResumeAsync(Guid id, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Post, $"api/runs/{id}/resume", Json(new RunResumeRequest(null, null)), ct);
        return await OutcomeAsync<RunResumed>(response, ct);
    }

    public async Task<ApiOutcome<RunCancelled>> CancelAsync(Guid id, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Post, $"api/runs/{id}/cancel", null, ct);
        return await OutcomeAsync<RunCancelled>(response, ct);
    }

    /// <summary>The run's live progress (server-sent events), until the run settles or <paramref name="ct"/> ends.</summary>
    public async IAsyncEnumerable<RunProgressSnapshot> ProgressAsync(Guid id, [EnumeratorCancellation] CancellationToken ct = default)
    {
        using var streamClient = clients.CreateClient(StreamClientName);
        using var response = await SendAsync(streamClient, HttpMethod.Get, $"api/runs/{id}/progress", null, HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureSuccessAsync(response, ct);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var parser = SseParser.Create(stream, (type, data) =>
            type == "progress" ? JsonSerializer.Deserialize<RunProgressSnapshot>(data, PersonaGymJson.Options) : null);
        await foreach (var item in parser.EnumerateAsync(ct))
        {
            if (item.Data is { } snapshot) yield return snapshot;
        }
    }

    /// <summary>
    /// Checks a key someone pasted at sign-in (<c>GET /api/me</c> with that key only): who it is, or whether the Api
    /// refused it (unknown or revoked) rather than failing to answer.
    /// </summary>
    public async Task<KeyCheck> CheckKeyAsync(string key, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/me");
        ApiKeyCredentials.Apply(request, key);
        try
        {
            using var response = await http.SendAsync(request, ct);
            if (response.StatusCode == HttpStatusCode.Unauthorized) return new KeyCheck(null, true, "The Api does not know this key, or it was revoked.");
            if (!response.IsSuccessStatusCode) return new KeyCheck(null, false, $"The Api could not check the key: {await ApiProblem.ReadAsync(response, ct)}");
            return new KeyCheck(await response.Content.ReadFromJsonAsync<Caller>(PersonaGymJson.Options, ct), false, null);
        }
        catch (HttpRequestException e)
        {
            return new KeyCheck(null, false, $"The Api did not answer: {e.Message}");
        }
    }

    private static JsonContent Json<T>(T value) => JsonContent.Create(value, options: PersonaGymJson.Options);

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, HttpContent? content, CancellationToken ct) =>
        SendAsync(http, method, url, content, HttpCompletionOption.ResponseContentRead, ct);

    /// <summary>Sends one request with the signed-in person's credential; without one nothing is sent.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string url, HttpContent? content, HttpCompletionOption completion, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        var person = await user.GetAsync();
        if (!await credentials.ApplyAsync(request, person, ct))
        {
            user.EndSession();
            throw new SessionEndedException("Not signed in: sign in with an Api key to use the web app.");
        }

        var response = await client.SendAsync(request, completion, ct);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            response.Dispose();
            user.EndSession();
            throw new SessionEndedException(AccountEndpoints.KeyNoLongerValid);
        }

        return response;
    }

    private async Task<T> GetAsync<T>(string url, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, url, null, ct);
        await EnsureSuccessAsync(response, ct);
        return (await response.Content.ReadFromJsonAsync<T>(PersonaGymJson.Options, ct))!;
    }

    private async Task<T?> FindAsync<T>(string url, CancellationToken ct) where T : class
    {
        using var response = await SendAsync(HttpMethod.Get, url, null, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadFromJsonAsync<T>(PersonaGymJson.Options, ct);
    }

    private static async Task<ApiOutcome<T>> OutcomeAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
            return new ApiOutcome<T>((await response.Content.ReadFromJsonAsync<T>(PersonaGymJson.Options, ct))!, null);
        return new ApiOutcome<T>(default, await ApiProblem.ReadAsync(response, ct));
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var problem = await ApiProblem.ReadAsync(response, ct);
        throw new ApiException(problem);
    }
}

/// <summary>What the Api answered: a value, or its problem details.</summary>
public sealed record ApiOutcome<T>(T? Value, ApiProblem? Problem)
{
    public bool Succeeded => Problem is null;
}

/// <summary>An RFC 7807 answer of the Api: title, detail and, for validation problems, the messages per field.</summary>
public sealed record ApiProblem(int Status, string Title, string? Detail, IReadOnlyDictionary<string, string[]> Errors)
{
    /// <summary>What a person is told when the Api answers 403: their key's role may not do this.</summary>
    public const string OperatorNeeded = "Not allowed: this needs an operator key; you are signed in with a reader key.";

    public static async Task<ApiProblem> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        if (response.StatusCode == HttpStatusCode.Forbidden) return new ApiProblem(status, OperatorNeeded, null, new Dictionary<string, string[]>());
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            var errors = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
            if (root.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in fields.EnumerateObject())
                    errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                        ? field.Value.EnumerateArray().Select(e => e.GetString() ?? "").ToArray()
                        : [field.Value.ToString()];
            }

            return new ApiProblem(status,
                root.TryGetProperty("title", out var title) ? title.GetString() ?? response.ReasonPhrase ?? "" : response.ReasonPhrase ?? "",
                root.TryGetProperty("detail", out var detail) ? detail.GetString() : null,
                errors);
        }
        catch (JsonException)
        {
            return new ApiProblem(status, response.ReasonPhrase ?? $"HTTP {status}", text.Length > 500 ? text[..500] : text, new Dictionary<string, string[]>());
        }
    }

    public override string ToString() => Detail is null ? Title : $"{Title}: {Detail}";
}

public class ApiException(ApiProblem problem) : Exception(problem.ToString())
{
    public ApiProblem Problem { get; } = problem;
}

/// <summary>The Api refused the person's credential (revoked key, expired token): their session is over.</summary>
public sealed class SessionEndedException(string message)
    : ApiException(new ApiProblem(StatusCodes.Status401Unauthorized, message, null, new Dictionary<string, string[]>()));

/// <summary>What the Api said of a key pasted at sign-in: the caller, or why not (<see cref="Refused"/>: the Api does not accept it).</summary>
public sealed record KeyCheck(Caller? Caller, bool Refused, string? Problem);
