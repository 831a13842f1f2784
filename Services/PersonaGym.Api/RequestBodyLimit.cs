using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Api;

/// <summary>
/// The request body bound (<c>PersonaGym:Limits:MaxRequestBodyBytes</c>): on every request through Kestrel's limit,
/// and on run submissions also by the declared length, so an oversized body is a 413 problem before it is read.
/// </summary>
public static class RequestBodyLimit
{
    public static TBuilder AddRequestBodyLimit<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<RunLimits>>((kestrel, limits) =>
            kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);
        return builder;
    }

    /// <summary>A 413 problem when the body is declared larger than <paramref name="max"/>; otherwise null, with the server held to the bound while reading.</summary>
    public static ProblemHttpResult? Exceeded(HttpRequest request, long max)
    {
        if (request.ContentLength > max)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "The request body is too large",
                detail: $"This server reads at most {max} bytes per request ({RunLimits.Section}:MaxRequestBodyBytes); split the personas into several runs.");
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature) feature.MaxRequestBodySize = max;
        return null;
    }
}
