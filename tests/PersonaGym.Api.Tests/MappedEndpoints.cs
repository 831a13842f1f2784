using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace PersonaGym.Api.Tests;

/// <summary>One endpoint the running Api maps, for one HTTP method: its route pattern and a path that reaches it.</summary>
/// <param name="Policies">The authorization policies it names (none: the fallback policy, the reader role).</param>
public sealed record MappedEndpoint(string Method, string Pattern, string Path, bool Anonymous, IReadOnlyList<string> Policies)
{
    public override string ToString() => $"{Method} {Pattern}";
}

/// <summary>
/// The endpoints read from the app's own <see cref="EndpointDataSource"/>, so a test that walks them covers an endpoint
/// added later without being told.
/// </summary>
public static class MappedEndpoints
{
    /// <summary>Route values that reach every route but name nothing stored: ids no run, persona or answer has.</summary>
    public static Dictionary<string, string> UnknownIds() => new()
    {
        ["id"] = Guid.CreateVersion7().ToString(), ["personaId"] = Guid.CreateVersion7().ToString(), ["answerId"] = Guid.CreateVersion7().ToString(), ["documentName"] = "v1",
    };

    /// <summary>
    /// Every route endpoint, once per HTTP method (health checks map every method: GET stands for them), with its route
    /// parameters filled from <paramref name="values"/> by name. A parameter without a value fails here, so a new kind
    /// of route parameter is given a value that reaches the endpoint rather than a path that matches nothing.
    /// </summary>
    public static IReadOnlyList<MappedEndpoint> Of(IServiceProvider services, IReadOnlyDictionary<string, string> values)
    {
        var endpoints = new List<MappedEndpoint>();
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = endpoint.RoutePattern;
            var path = PathOf(pattern, values);
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct().ToList();
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } declared ? declared : ["GET"];
            foreach (var method in methods)
                endpoints.Add(new MappedEndpoint(method, "/" + (pattern.RawText ?? "").Trim('/'), path, anonymous, policies));
        }

        return endpoints;
    }

    private static string PathOf(RoutePattern pattern, IReadOnlyDictionary<string, string> values)
    {
        var segments = pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart parameter => values.TryGetValue(parameter.Name, out var value)
                ? Uri.EscapeDataString(value)
                : throw new InvalidOperationException($"The route parameter '{parameter.Name}' of {pattern.RawText} has no value: give the test one that reaches the endpoint."),
            _ => throw new InvalidOperationException($"An unexpected route part in {pattern.RawText}."),
        })));
        return "/" + string.Join("/", segments);
    }
}

/// <summary>Sends every endpoint a request and collects what is wrong with the answers, all at once.</summary>
public static class EndpointProbe
{
    /// <summary>
    /// A request to the endpoint; with <paramref name="acceptable"/> its body is one the endpoint would act on (store a
    /// run, raise a budget, store a rating), so a refusal that stores nothing shows the endpoint did not run.
    /// </summary>
    public static HttpRequestMessage Request(MappedEndpoint endpoint, bool acceptable) => new(new HttpMethod(endpoint.Method), endpoint.Path)
    {
        Content = !acceptable || endpoint.Method is not ("POST" or "PUT") ? null : new StringContent(endpoint.Pattern switch
        {
            "/api/runs" or "/api/runs/estimate" => """{ "personas": ["A 40-year-old baker from Lyon"], "agents": ["offline:agent"], "judges": ["offline:judge-1"], "questionsPerTask": 1 }""",
            "/api/runs/{id:guid}/resume" => """{ "maxCalls": 100000 }""",
            "/api/runs/{id:guid}/ratings/{answerId:guid}" => """{ "rater": "intruder", "score": 5 }""",
            _ => "{}",
        }, Encoding.UTF8, "application/json"),
    };

    /// <summary>Sends every endpoint its request and returns what <paramref name="check"/> found wrong with each answer.</summary>
    public static async Task<List<string>> FailuresAsync(HttpClient client, IEnumerable<MappedEndpoint> endpoints,
        Func<MappedEndpoint, HttpResponseMessage, Task<string?>> check, Func<MappedEndpoint, bool>? acceptable = null)
    {
        var failures = new List<string>();
        foreach (var endpoint in endpoints)
        {
            using var request = Request(endpoint, acceptable?.Invoke(endpoint) ?? true);
            // Headers only: the progress stream of a run is read no further than its status.
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (await check(endpoint, response) is { } failure) failures.Add($"{endpoint} ({endpoint.Path}): {failure}");
        }

        return failures;
    }

    /// <summary>Null when the answer is a 401 problem with a title (<paramref name="title"/> when given) and a detail saying what to send.</summary>
    public static async Task<string?> UnauthorizedProblemAsync(HttpResponseMessage response, string? title)
    {
        if (response.StatusCode != HttpStatusCode.Unauthorized) return $"{(int)response.StatusCode}, not 401";
        if (await ProblemAsync(response, HttpStatusCode.Unauthorized) is not { } problem) return "not a 401 problem";
        if (title is not null && problem.GetProperty("title").GetString() != title) return $"title '{problem.GetProperty("title").GetString()}'";
        return problem.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 } ? null : "no detail";
    }

    /// <summary>The problem details of the answer, or null when it is not an RFC 7807 problem of that status.</summary>
    public static async Task<JsonElement?> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected || response.Content.Headers.ContentType?.MediaType != "application/problem+json") return null;
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.TryGetProperty("status", out var status) && status.GetInt32() == (int)expected ? json.RootElement.Clone() : null;
    }
}
