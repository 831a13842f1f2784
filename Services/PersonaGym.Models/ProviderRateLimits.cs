using System.Globalization;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace PersonaGym.Models;

/// <summary>
/// What a provider said about its limits in one response's headers: requests and tokens remaining in its window, when
/// they reset, and the wait it asked for on a refusal.
/// </summary>
/// <remarks>
/// OpenAI and Azure OpenAI send <c>x-ratelimit-remaining-requests</c>, <c>x-ratelimit-remaining-tokens</c> and
/// <c>x-ratelimit-reset-requests/-tokens</c> as durations ("1s", "6m0s", "20ms"); Anthropic sends
/// <c>anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{remaining,reset}</c> with RFC 3339 reset times.
/// Both send <c>retry-after</c> (OpenAI also <c>retry-after-ms</c>) on 429.
/// </remarks>
public sealed partial record ProviderRateLimits(
    long? RemainingRequests,
    TimeSpan? RequestsReset,
    long? RemainingTokens,
    TimeSpan? TokensReset,
    TimeSpan? RetryAfter)
{
    /// <summary>Whether the headers said anything at all.</summary>
    public bool IsEmpty => RemainingRequests is null && RemainingTokens is null && RetryAfter is null;

    /// <summary>Reads the headers of one response; <paramref name="now"/> turns Anthropic's reset times into waits.</summary>
    public static ProviderRateLimits From(HttpResponseHeaders headers, int status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return From(name => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null, status, now);
    }

    /// <summary>Reads the headers through a lookup (case-insensitive names), whatever the HTTP stack.</summary>
    public static ProviderRateLimits From(Func<string, string?> header, int status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(header);
        long? remainingRequests = Number(header("x-ratelimit-remaining-requests"));
        TimeSpan? requestsReset = Duration(header("x-ratelimit-reset-requests"));
        long? remainingTokens = Number(header("x-ratelimit-remaining-tokens"));
        TimeSpan? tokensReset = Duration(header("x-ratelimit-reset-tokens"));

        if (remainingRequests is null && Number(header("anthropic-ratelimit-requests-remaining")) is { } anthropicRequests)
        {
            remainingRequests = anthropicRequests;
            requestsReset = ResetAt(header("anthropic-ratelimit-requests-reset"), now);
        }

        if (remainingTokens is null)
        {
            // Anthropic limits input and output tokens separately (and may send a combined figure): the tightest binds.
            foreach (var kind in (ReadOnlySpan<string>)["tokens", "input-tokens", "output-tokens"])
            {
                if (Number(header($"anthropic-ratelimit-{kind}-remaining")) is { } remaining && (remainingTokens is null || remaining < remainingTokens))
                {
                    remainingTokens = remaining;
                    tokensReset = ResetAt(header($"anthropic-ratelimit-{kind}-reset"), now);
                }
            }
        }

        TimeSpan? retryAfter = null;
        if (status is 429 or 503 or 529)
        {
            if (RetryAfterHeader.TryParseMilliseconds(header("retry-after-ms"), out var ms))
            {
                retryAfter = ms;
            }
            else if (RetryAfterHeader.TryParse(header("retry-after"), now, out var delay))
            {
                retryAfter = delay;
            }
        }

        return new ProviderRateLimits(remainingRequests, requestsReset, remainingTokens, tokensReset, retryAfter);
    }

    private static long? Number(string? value) =>
        long.TryParse(value?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : null;

    private static TimeSpan? ResetAt(string? value, DateTimeOffset now) =>
        DateTimeOffset.TryParse(value?.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? (at > now ? at - now : TimeSpan.Zero)
            : null;

    /// <summary>OpenAI's reset durations: "20ms", "1s", "6m0s", "1h2m3.5s" (Go's time.Duration format).</summary>
    internal static TimeSpan? Duration(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var matches = DurationPart().Matches(value.Trim());
        if (matches.Count == 0 || matches.Sum(m => m.Length) != value.Trim().Length)
        {
            return null;
        }

        var total = TimeSpan.Zero;
        foreach (Match part in matches)
        {
            var amount = double.Parse(part.Groups["n"].Value, CultureInfo.InvariantCulture);
            total += part.Groups["u"].Value switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "ms" => TimeSpan.FromMilliseconds(amount),
                "us" or "µs" => TimeSpan.FromMicroseconds(amount),
                _ => TimeSpan.FromTicks((long)(amount / 100)),
            };
        }

        return total;
    }

    [GeneratedRegex(@"(?<n>\d+(\.\d+)?)(?<u>ms|us|µs|ns|h|m|s)")]
    private static partial Regex DurationPart();
}

/// <summary>
/// Sits on the HttpClient handed to a provider SDK and reports every response's rate-limit headers, so the model's
/// limiter learns what the provider allows whatever the SDK does with them.
/// </summary>
internal sealed class ProviderRateLimitHandler(Action<ProviderRateLimits> observe, TimeProvider time) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var limits = ProviderRateLimits.From(response.Headers, (int)response.StatusCode, time.GetUtcNow());
        if (!limits.IsEmpty)
        {
            observe(limits);
        }

        return response;
    }
}
