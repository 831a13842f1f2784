using System.ClientModel;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Anthropic.Exceptions;
using Microsoft.Extensions.AI;
using OllamaSharp.Models.Exceptions;

namespace PersonaGym.Models;

/// <summary>
/// Innermost layer over a provider SDK client: turns each SDK's own exception types into one
/// <see cref="ModelCallException"/> (model, status, failure kind, Retry-After), with the key scrubbed,
/// so the retry policy and the users see the same thing whatever the provider. Whatever else an SDK throws once the
/// provider has answered 2xx (a JSON reader's error, an empty choices list indexed) is a body it could not read:
/// <see cref="ModelFailureKind.UnreadableResponse"/>, transient, never a reply of the model.
/// </summary>
internal sealed partial class ProviderFailureTranslatingChatClient(IChatClient inner, ModelSpec spec, string? secret)
    : DelegatingChatClient(inner)
{
    private const int MaxProviderMessageLength = 600;

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var exchange = ProviderExchange.Begin();
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(ex, exchange, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var exchange = ProviderExchange.Begin();
        var updates = StreamingFailures.Replace(
            base.GetStreamingResponseAsync(messages, options, cancellationToken), ex => Translate(ex, exchange, cancellationToken), cancellationToken);
        await foreach (var update in updates.ConfigureAwait(false))
        {
            yield return update;
        }
    }

    private ModelCallException? Translate(Exception exception, ProviderExchange exchange, CancellationToken cancellationToken)
    {
        switch (exception)
        {
            case ModelCallException:
                return null;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return null;
            case OperationCanceledException:
                // Nobody cancelled us, so the SDK's own HTTP timeout fired.
                return Failure(ModelFailureKind.Timeout, null, "did not answer within the network timeout", null);
            case ClientResultException result when result.Status == 0:
                return Failure(ModelFailureKind.Network, null, "could not be reached", Describe(result));
            case ClientResultException result:
                return Failure(ModelCallException.KindOf(result.Status), result.Status, null, Describe(result), RetryAfterOf(result));
            case AnthropicApiException api:
                return Failure(ModelCallException.KindOf((int)api.StatusCode), (int)api.StatusCode, null, api.Message);
            case AnthropicIOException io:
                return Failure(ModelFailureKind.Network, null, "could not be reached", io.Message);
            case HttpRequestException http when http.StatusCode is { } status:
                return Failure(ModelCallException.KindOf((int)status), (int)status, null, http.Message);
            case HttpRequestException http:
                return Failure(ModelFailureKind.Network, null, "could not be reached", http.Message);
            case OllamaException ollama:
                return Failure(ModelFailureKind.Unknown, null, "failed", ollama.Message);
            case not null when exchange.Succeeded:
                return Failure(ModelFailureKind.UnreadableResponse, exchange.Status,
                    $"answered HTTP {exchange.Status} with a body that holds no readable completion", exception.Message);
            default:
                return null;
        }
    }

    private ModelCallException Failure(ModelFailureKind kind, int? status, string? what, string? providerMessage, TimeSpan? retryAfter = null)
    {
        what ??= kind switch
        {
            ModelFailureKind.RateLimited => $"was rate limited (HTTP {status})",
            ModelFailureKind.ServerError => $"failed on the provider side (HTTP {status})",
            ModelFailureKind.Timeout => $"timed out (HTTP {status})",
            ModelFailureKind.Rejected => $"rejected the request (HTTP {status})",
            _ => $"failed (HTTP {status})",
        };

        var detail = Scrub(providerMessage);
        var message = detail.Length == 0 ? $"Model '{spec.Text}' {what}." : $"Model '{spec.Text}' {what}: {detail}";
        return new ModelCallException(spec.Text, kind, status, message, retryAfter);
    }

    private static string Describe(ClientResultException result)
    {
        // The OpenAI SDK's message already carries the provider's error text; the body is a fallback.
        if (!string.IsNullOrWhiteSpace(result.Message))
        {
            return result.Message;
        }

        try
        {
            return result.GetRawResponse()?.Content?.ToString() ?? string.Empty;
        }
        catch (InvalidOperationException)
        {
            return string.Empty;
        }
    }

    private static TimeSpan? RetryAfterOf(ClientResultException result)
    {
        var headers = result.GetRawResponse()?.Headers;
        if (headers is null)
        {
            return null;
        }

        if (headers.TryGetValue("retry-after-ms", out var ms) && RetryAfterHeader.TryParseMilliseconds(ms, out var msDelay))
        {
            return msDelay;
        }

        if (headers.TryGetValue("Retry-After", out var value) && RetryAfterHeader.TryParse(value, DateTimeOffset.UtcNow, out var delay))
        {
            return delay;
        }

        return null;
    }

    /// <summary>Removes the key (and anything shaped like a secret key) from a provider message, and bounds its length.</summary>
    internal string Scrub(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return string.Empty;
        }

        if (!string.IsNullOrEmpty(secret) && secret != ModelClientFactory.KeylessPlaceholder)
        {
            text = text.Replace(secret, "[redacted]", StringComparison.Ordinal);
        }

        // Providers echo masked keys ("Incorrect API key provided: sk-proj-****abcd"); drop those fragments too.
        text = SecretLike().Replace(text, "[redacted]");
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length <= MaxProviderMessageLength ? text : text[..MaxProviderMessageLength] + "…";
    }

    [GeneratedRegex(@"\b(sk|sk-ant|sk-proj)-[A-Za-z0-9_\-\*\.]{4,}")]
    private static partial Regex SecretLike();
}
