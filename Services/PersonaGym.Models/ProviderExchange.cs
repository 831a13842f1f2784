namespace PersonaGym.Models;

/// <summary>
/// What the HTTP layer under a provider SDK saw of one model call: the status of the response it received, if any.
/// The translating client begins one per call and the <see cref="ProviderExchangeHandler"/> notes the status, so an
/// exception the SDK throws after a 2xx is known to be about a body it could not read (not JSON, no choices), not
/// about the request: a provider or proxy fault, which the same request may not meet again.
/// </summary>
internal sealed class ProviderExchange
{
    private static readonly AsyncLocal<ProviderExchange?> Current = new();
    private int _status;

    /// <summary>The last HTTP status received in this call, or null when no response arrived.</summary>
    public int? Status => Volatile.Read(ref _status) is var status and not 0 ? status : null;

    /// <summary>True when the provider answered with a 2xx status.</summary>
    public bool Succeeded => Status is >= 200 and <= 299;

    /// <summary>Starts noting the responses of the calling flow (an async method's change stays within it).</summary>
    public static ProviderExchange Begin()
    {
        var exchange = new ProviderExchange();
        Current.Value = exchange;
        return exchange;
    }

    public static void Received(int status)
    {
        if (Current.Value is { } exchange) Volatile.Write(ref exchange._status, status);
    }
}

/// <summary>Sits on the HttpClient handed to a provider SDK and notes each response's status in the call's <see cref="ProviderExchange"/>.</summary>
internal sealed class ProviderExchangeHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        ProviderExchange.Received((int)response.StatusCode);
        return response;
    }
}
