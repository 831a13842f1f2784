namespace PersonaGym.Models;

/// <summary>Why a model call failed, in the terms the retry policy decides on.</summary>
public enum ModelFailureKind
{
    /// <summary>HTTP 429: the provider asks us to slow down.</summary>
    RateLimited,

    /// <summary>HTTP 5xx (and 408): the provider failed; the same request may succeed later.</summary>
    ServerError,

    /// <summary>The attempt took longer than the configured timeout.</summary>
    Timeout,

    /// <summary>No HTTP response at all (connection refused or reset, DNS).</summary>
    Network,

    /// <summary>
    /// HTTP 2xx whose body is no completion the provider's SDK can read (not JSON, an HTML page, no choices): a
    /// provider or proxy fault, not a reply of the model; the same request may succeed later.
    /// </summary>
    UnreadableResponse,

    /// <summary>HTTP 4xx other than 408/429: the request itself is wrong (bad parameters, bad key, unknown model); repeating it cannot help.</summary>
    Rejected,

    /// <summary>Anything else the provider SDK threw.</summary>
    Unknown,
}

/// <summary>
/// A failed model call, naming the model (its spec) and never its key. Thrown by every client the
/// <see cref="ModelClientFactory"/> creates and by the pipeline once retries are exhausted.
/// </summary>
/// <remarks>The provider SDK's exception is deliberately not kept as InnerException: its message and
/// response body may echo request headers or a partially masked key.</remarks>
public sealed class ModelCallException : Exception
{
    public ModelCallException(string model, ModelFailureKind kind, int? statusCode, string message, TimeSpan? retryAfter = null, int attempts = 1)
        : base(message)
    {
        Model = model;
        Kind = kind;
        StatusCode = statusCode;
        RetryAfter = retryAfter;
        Attempts = attempts;
    }

    /// <summary>The model spec text.</summary>
    public string Model { get; }

    public ModelFailureKind Kind { get; }

    /// <summary>The HTTP status, when the provider answered.</summary>
    public int? StatusCode { get; }

    /// <summary>The wait the provider asked for (Retry-After), when it said one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>How many attempts were made before giving up.</summary>
    public int Attempts { get; }

    /// <summary>Whether repeating the same request later may succeed.</summary>
    public bool IsTransient => Kind is ModelFailureKind.RateLimited or ModelFailureKind.ServerError or ModelFailureKind.Timeout
        or ModelFailureKind.Network or ModelFailureKind.UnreadableResponse;

    internal ModelCallException WithAttempts(int attempts) =>
        new(Model, Kind, StatusCode, attempts > 1 ? $"{Message} (gave up after {attempts} attempts)" : Message, RetryAfter, attempts);

    internal static ModelFailureKind KindOf(int status) => status switch
    {
        429 => ModelFailureKind.RateLimited,
        408 => ModelFailureKind.Timeout,
        >= 500 and <= 599 => ModelFailureKind.ServerError,
        >= 400 and <= 499 => ModelFailureKind.Rejected,
        _ => ModelFailureKind.Unknown,
    };
}
