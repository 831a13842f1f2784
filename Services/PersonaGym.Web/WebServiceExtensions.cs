using PersonaGym.Web.Account;
using PersonaGym.Web.Api;
using PersonaGym.Web.Components;
using Radzen;

namespace PersonaGym.Web;

public static class WebServiceExtensions
{
    /// <summary>The web app's services: Razor components with interactive server rendering, Radzen, sign-in, and the Api client.</summary>
    public static TBuilder AddPersonaGymWeb<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddRadzenComponents();
        builder.AddPersonaGymSignIn();

        // The one way to the Api ("api" resolved by service discovery, https preferred). The typed client is resolved
        // in each person's scope and puts their own credential on every request (see PersonaGymApiClient).
        var api = new Uri(builder.Configuration["PersonaGym:ApiUrl"] ?? "https+http://api");
        builder.Services.AddHttpClient<PersonaGymApiClient>(client => client.BaseAddress = api);
        // The progress stream stays open while a run runs: its lifetime is the page's, not a request timeout's.
#pragma warning disable EXTEXP0001 // Experimental, but the documented way to take the service defaults' timeouts off one client.
        builder.Services.AddHttpClient(PersonaGymApiClient.StreamClientName, client =>
            {
                client.BaseAddress = api;
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        return builder;
    }

    public static WebApplication UsePersonaGymWeb(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error", createScopeForErrors: true);
        }

        app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapAccountEndpoints();
        app.MapRunExports();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
