using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.Options;

namespace PersonaGym.Web.Account;

/// <summary>
/// When one open page (a Blazor Server circuit) last heard from its person: clicks, key presses, navigation. The
/// cookie's sliding expiry never sees this traffic (it is not an HTTP request), so without it an open tab would stay
/// signed in for as long as it stays open.
/// </summary>
public sealed class CircuitActivity(TimeProvider time)
{
    private long _lastTicks = time.GetUtcNow().UtcTicks;

    public DateTimeOffset LastActivity => new(Interlocked.Read(ref _lastTicks), TimeSpan.Zero);

    public void Touch() => Interlocked.Exchange(ref _lastTicks, time.GetUtcNow().UtcTicks);
}

/// <summary>Records every inbound event of the circuit as the person's activity.</summary>
public sealed class CircuitActivityHandler(CircuitActivity activity) : CircuitHandler
{
    public override Func<CircuitInboundActivityContext, Task> CreateInboundActivityHandler(Func<CircuitInboundActivityContext, Task> next) =>
        context =>
        {
            activity.Touch();
            return next(context);
        };
}

/// <summary>
/// The signed-in state of an open page, ended once the page has gone <see cref="WebSignInOptions.SessionIdleTimeout"/>
/// without its person doing anything: the same rule the cookie applies to requests. The page then shows the sign-in
/// page with the reason (<see cref="RedirectToSignInTarget"/>).
/// </summary>
public sealed class IdleSessionAuthenticationStateProvider(
    ILoggerFactory loggerFactory, CircuitActivity activity, IOptions<WebSignInOptions> options, TimeProvider time)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    private readonly TimeSpan _timeout = options.Value.SessionIdleTimeout;

    /// <summary>A quarter of the idle timeout, between 1 s and 1 min: an idle page ends at most that late.</summary>
    protected override TimeSpan RevalidationInterval =>
        TimeSpan.FromTicks(Math.Clamp(_timeout.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));

    /// <summary>True once this page's session ended for lack of use.</summary>
    public bool EndedForIdleness { get; private set; }

    /// <summary>Whether the page has gone the whole idle timeout without activity.</summary>
    public bool IsIdle => time.GetUtcNow() - activity.LastActivity >= _timeout;

    protected override Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        if (authenticationState.User.Identity?.IsAuthenticated != true || !IsIdle) return Task.FromResult(true);
        EndedForIdleness = true;
        return Task.FromResult(false);
    }

    /// <summary>Where a page that lost its sign-in sends the browser: the sign-in page, saying why when the page sat idle.</summary>
    public static string RedirectToSignInTarget(AuthenticationStateProvider provider, string returnPath) =>
        $"{AccountEndpoints.SignInPath}?returnUrl={Uri.EscapeDataString(returnPath)}" +
        (provider is IdleSessionAuthenticationStateProvider { EndedForIdleness: true } ? "&ended=idle" : "");
}
