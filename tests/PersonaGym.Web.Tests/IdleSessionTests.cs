using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PersonaGym.Web.Account;

namespace PersonaGym.Web.Tests;

/// <summary>
/// An open page (a circuit) ends its sign-in after the cookie's idle timeout without use: its traffic is no HTTP
/// request, so the cookie alone would never end it. In process, with a fake clock for the idle time.
/// </summary>
public sealed class IdleSessionTests
{
    private static readonly ClaimsPrincipal Person = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "someone")], "test"));

    private static WebApplication Build(FakeTimeProvider time, string timeout)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["PersonaGym:Web:SessionIdleTimeout"] = timeout });
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.AddPersonaGymSignIn();
        return builder.Build();
    }

    /// <summary>What the circuit does with each inbound event: through every registered handler, as Blazor chains them.</summary>
    private static Task InboundEventAsync(IServiceProvider circuit)
    {
        Func<CircuitInboundActivityContext, Task> handler = _ => Task.CompletedTask;
        foreach (var circuitHandler in circuit.GetServices<CircuitHandler>().Reverse())
            handler = circuitHandler.CreateInboundActivityHandler(handler);
        return handler(null!);
    }

    [Fact]
    public async Task A_page_stays_signed_in_while_used_and_becomes_idle_after_the_timeout_without_use()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-02T09:00:00Z"));
        await using var app = Build(time, "00:10:00");
        using var circuit = app.Services.CreateScope();
        var provider = Assert.IsType<IdleSessionAuthenticationStateProvider>(circuit.ServiceProvider.GetRequiredService<AuthenticationStateProvider>());

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(provider.IsIdle);
        await InboundEventAsync(circuit.ServiceProvider);
        time.Advance(TimeSpan.FromMinutes(9));
        // 18 minutes open, 9 since the last click: still in use.
        Assert.False(provider.IsIdle);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(provider.IsIdle);

        // Another circuit is another person's page: its own clock of activity.
        using var other = app.Services.CreateScope();
        Assert.False(((IdleSessionAuthenticationStateProvider)other.ServiceProvider.GetRequiredService<AuthenticationStateProvider>()).IsIdle);
    }

    [Fact]
    public async Task An_idle_page_loses_its_sign_in_and_is_sent_to_the_sign_in_page_with_the_reason()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-02T09:00:00Z"));
        // 4 s: the provider looks every second (a quarter of the timeout, at least 1 s).
        await using var app = Build(time, "00:00:04");
        using var circuit = app.Services.CreateScope();
        var provider = (IdleSessionAuthenticationStateProvider)circuit.ServiceProvider.GetRequiredService<AuthenticationStateProvider>();
        // As the circuit starts: the person of the cookie (which itself notifies, and starts the checks).
        ((IHostEnvironmentAuthenticationStateProvider)provider).SetAuthenticationState(Task.FromResult(new AuthenticationState(Person)));
        var changed = new TaskCompletionSource<AuthenticationState>(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.AuthenticationStateChanged += async state => changed.TrySetResult(await state);

        // In use: the checks pass and the person stays signed in.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.False(changed.Task.IsCompleted);
        Assert.Equal("signin?returnUrl=%2Fruns", IdleSessionAuthenticationStateProvider.RedirectToSignInTarget(provider, "/runs"));

        time.Advance(TimeSpan.FromSeconds(5));
        var ended = await changed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(ended.User.Identity?.IsAuthenticated);
        Assert.True(provider.EndedForIdleness);
        Assert.Equal("signin?returnUrl=%2Fruns&ended=idle", IdleSessionAuthenticationStateProvider.RedirectToSignInTarget(provider, "/runs"));
    }

    [Theory]
    [InlineData("08:00:00", "Signed out after 8 h without use. Sign in again to continue.")]
    [InlineData("00:30:00", "Signed out after 30 min without use. Sign in again to continue.")]
    [InlineData("00:00:45", "Signed out after 45 s without use. Sign in again to continue.")]
    public void The_sign_in_page_says_how_long_the_page_sat_idle(string timeout, string note) =>
        Assert.Equal(note, AccountEndpoints.IdleNote(TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture)));
}
