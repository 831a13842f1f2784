using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

namespace PersonaGym.Models;

/// <summary>One base URL the operator allows runs to name, with the key sent to it (if it needs one).</summary>
public sealed class AllowedModelEndpoint
{
    public string Url { get; set; } = "";

    /// <summary>The key for this endpoint only; provider keys are never sent to an endpoint a spec names.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Deliberately without the key.</summary>
    public override string ToString() => Url;
}

/// <summary>
/// Which model endpoints a run may name: the operator's choice, from configuration (<c>PersonaGym:Endpoints</c>),
/// never the client's. A spec's <c>@base-url</c> must be one of <c>PersonaGym:Endpoints:Allowed</c> (or the endpoint
/// configured for its provider); loopback, link-local and private addresses are refused like any other unlisted
/// address. <c>PersonaGym:Endpoints:AllowAny=true</c> lifts the list where the person naming the specs is the
/// operator (the CLI's local mode, which runs on the user's own keys).
/// </summary>
public sealed class ModelEndpointPolicy
{
    public const string Section = "PersonaGym:Endpoints";

    private readonly List<(Uri Url, string? Key)> _allowed;

    private ModelEndpointPolicy(bool allowAny, List<(Uri, string?)> allowed, IReadOnlyList<string> problems)
    {
        AllowAny = allowAny;
        _allowed = allowed;
        Problems = problems;
    }

    /// <summary>True when any endpoint may be named (the operator names the specs).</summary>
    public bool AllowAny { get; }

    /// <summary>Unusable allow-list entries (not absolute http(s) URLs, credentials in the URL).</summary>
    public IReadOnlyList<string> Problems { get; }

    public IEnumerable<Uri> Allowed => _allowed.Select(a => a.Url);

    public static ModelEndpointPolicy From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var allowAny = section.GetValue("AllowAny", false);
        var problems = new List<string>();
        var allowed = new List<(Uri, string?)>();
        foreach (var entry in section.GetSection("Allowed").GetChildren())
        {
            // An entry is a URL ("Allowed:0=http://…", or a comma-separated list) or an object with Url and ApiKey.
            var urls = entry.Value is { } value ? value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [entry["Url"] ?? ""];
            var key = entry.Value is null && !string.IsNullOrWhiteSpace(entry["ApiKey"]) ? entry["ApiKey"]!.Trim() : null;
            foreach (var text in urls)
            {
                if (Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.UserInfo) && uri.Host.Length > 0)
                    allowed.Add((Normalize(uri), key));
                else
                    problems.Add($"{Section}:Allowed:{entry.Key} is not an absolute http(s) URL without credentials");
            }
        }

        return new ModelEndpointPolicy(allowAny, allowed, problems);
    }

    /// <summary>
    /// The allow-list entry <paramref name="endpoint"/> falls under (same scheme, host and port; path within the entry's),
    /// or null when it is not allowed.
    /// </summary>
    public bool TryMatch(Uri endpoint, out string? key)
    {
        var target = Normalize(endpoint);
        foreach (var (url, entryKey) in _allowed)
        {
            if (SameOrigin(url, target) && WithinPath(url, target))
            {
                key = entryKey;
                return true;
            }
        }

        key = null;
        return false;
    }

    /// <summary>Same scheme, host (without case) and port.</summary>
    public static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    /// <summary>The problem to report for an unlisted endpoint, naming why special addresses are refused.</summary>
    public static string Refusal(Uri endpoint)
    {
        var special = IsSpecialAddress(endpoint.Host) ? " Loopback, link-local and private addresses are refused unless listed." : "";
        return $"The endpoint {endpoint.GetLeftPart(UriPartial.Authority)} is not one this server may call: the operator lists the allowed base URLs in {Section}:Allowed.{special}";
    }

    /// <summary>True for loopback, link-local, private, unique-local and unspecified addresses and for localhost names.</summary>
    public static bool IsSpecialAddress(string host)
    {
        var name = host.Trim('[', ']');
        if (name.Equals("localhost", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)) return true;
        if (!IPAddress.TryParse(name, out var address)) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return true;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal;
        var b = address.GetAddressBytes();
        return b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)
               || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] == 0;
    }

    private static bool WithinPath(Uri allowed, Uri target)
    {
        var prefix = allowed.AbsolutePath.TrimEnd('/');
        var path = target.AbsolutePath;
        return prefix.Length == 0 || path.Equals(prefix, StringComparison.Ordinal) || path.StartsWith(prefix + "/", StringComparison.Ordinal);
    }

    private static Uri Normalize(Uri uri) => new UriBuilder(uri) { Query = "", Fragment = "" }.Uri;
}
