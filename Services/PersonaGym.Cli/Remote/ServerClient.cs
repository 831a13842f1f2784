using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PersonaGym.Core.Reports;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Cli.Remote;

/// <summary>
/// The CLI's side of the Api (<c>--server URL</c>): submit a run, follow it, fetch its results. The shapes are the
/// Pipeline's (<see cref="RunAccepted"/>, <see cref="RunDetails"/>, <see cref="RunListItem"/>), shared with the Api.
/// </summary>
public sealed class ServerClient(HttpClient http, TextWriter? log = null)
{
    /// <summary>The header the Api reads its keys from.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>
    /// How long in all a request waits out 503s that carry Retry-After (the Api's answer while its database is
    /// unreachable, which stores nothing, so asking again is safe) before the 503 is reported.
    /// </summary>
    public TimeSpan UnavailableWaitLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <param name="baseUrl">The Api's base URL.</param>
    /// <param name="apiKey">The key sent with every request (<c>--api-key</c> / <c>$PERSONAGYM_API_KEY</c>), or null.</param>
    public static ServerClient For(string baseUrl, string? apiKey)
    {
        if (!Uri.TryCreate(baseUrl.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new CliException($"--server must be an http(s) URL, got '{baseUrl}'");
        var http = new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(100) };
        if (apiKey is not null)
        {
            if (apiKey.Any(c => char.IsControl(c) || c == ' ')) throw new CliException("the Api key holds spaces or control characters; copy it again from `personagym keys create`");
            http.DefaultRequestHeaders.Add(ApiKeyHeader, apiKey);
        }

        return new ServerClient(http, Console.Error);
    }

    public async Task<RunAccepted> SubmitAsync(RunRequest request, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => http.PostAsJsonAsync("api/runs", request, PersonaGymJson.Options, cancellationToken), cancellationToken);
        return await ReadAsync<RunAccepted>(response, cancellationToken);
    }

    /// <summary>The run's progress and usage, or null when the server has no such run.</summary>
    public async Task<RunSummary?> SummaryAsync(Guid runId, CancellationToken cancellationToken) =>
        (await DetailsAsync(runId, cancellationToken))?.Summary;

    /// <summary>Progress, usage and problems (failed or stalled items with reasons), or null when the server has no such run.</summary>
    public async Task<RunDetails?> DetailsAsync(Guid runId, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => http.GetAsync($"api/runs/{runId}", cancellationToken), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        return await ReadAsync<RunDetails>(response, cancellationToken);
    }

    /// <summary>The run's report, served in the documented JSON shape (docs/output-format.md) and read back from it.</summary>
    public async Task<RunReport> ReportAsync(Guid runId, CancellationToken cancellationToken, bool includeIncomplete = false)
    {
        var query = includeIncomplete ? "?includeIncomplete=true" : "";
        using var response = await SendAsync(() => http.GetAsync($"api/runs/{runId}/results{query}", cancellationToken), cancellationToken);
        if (!response.IsSuccessStatusCode) await ReadAsync<JsonElement>(response, cancellationToken);
        var json = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return RunReportReader.FromJson(json, $"the server's response for run {runId}");
        }
        catch (FormatException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    public async Task<IReadOnlyList<RunListItem>> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => http.GetAsync("api/runs", cancellationToken), cancellationToken);
        return await ReadAsync<List<RunListItem>>(response, cancellationToken);
    }

    public async Task<RunResumed> ResumeAsync(Guid runId, long? maxCalls, long? maxTokens, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => http.PostAsJsonAsync($"api/runs/{runId}/resume", new RunResumeRequest(maxCalls, maxTokens), PersonaGymJson.Options, cancellationToken), cancellationToken);
        return await ReadAsync<RunResumed>(response, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendAsync(Func<Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        var waited = TimeSpan.Zero;
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await send();
            }
            catch (HttpRequestException ex)
            {
                throw new CliException($"cannot reach the PersonaGym server at {http.BaseAddress}: {ex.Message}");
            }

            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || RetryAfter(response) is not { } wait || waited + wait > UnavailableWaitLimit)
                return response;

            log?.WriteLine($"the server is unavailable for now ({response.ReasonPhrase}); asking again in {wait.TotalSeconds:0} s");
            response.Dispose();
            await Task.Delay(wait, cancellationToken);
            waited += wait;
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var until && until > TimeSpan.FromSeconds(1) ? until : TimeSpan.FromSeconds(1),
        _ => null,
    };

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var problems = new List<string>();
            try
            {
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>(PersonaGymJson.Options, cancellationToken);
                if (problem.TryGetProperty("title", out var title)) problems.Add(title.GetString() ?? "");
                if (problem.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 } d) problems.Add(d);
                if (problem.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in errors.EnumerateObject())
                        problems.AddRange(field.Value.EnumerateArray().Select(e => e.GetString() ?? ""));
                }
            }
            catch (JsonException)
            {
                problems.Add(await response.Content.ReadAsStringAsync(cancellationToken));
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized)
                problems.Add("send an Api key: set PERSONAGYM_API_KEY or pass --api-key (an operator creates keys with `personagym keys create`)");
            if (response.StatusCode == HttpStatusCode.Forbidden)
                problems.Add("this key's role does not allow it: submitting and resuming need an operator key");
            throw new CliException($"the server answered {(int)response.StatusCode} {response.ReasonPhrase}", problems.Where(p => p.Length > 0).Distinct().ToList(),
                exitCode: (int)response.StatusCode is >= 400 and < 500 ? ExitCodes.InvalidInput : ExitCodes.Failed);
        }

        return await response.Content.ReadFromJsonAsync<T>(PersonaGymJson.Options, cancellationToken)
            ?? throw new CliException("the server sent an empty answer");
    }
}
