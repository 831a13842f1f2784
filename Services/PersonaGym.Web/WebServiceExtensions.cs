using PersonaGym.Web.Api;
using PersonaGym.Web.Components;
using Radzen;

namespace PersonaGym.Web;

public static class WebServiceExtensions
{
    /// <summary>The web app's services: Razor components with interactive server rendering, Radzen, and the Api client.</summary>
    public static TBuilder AddPersonaGymWeb<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddRadzenComponents();

        // The one way to the Api ("api" resolved by service discovery, https preferred). Authentication slots in here:
        // add the handler that puts the signed-in user's key or token on every request, e.g. .AddHttpMessageHandler<...>().
        var api = new Uri(builder.Configuration["PersonaGym:ApiUrl"] ?? "https+http://api");
        // The web app calls the Api with its own key (PersonaGym:Api:Key; the AppHost passes the first operator key).
        builder.Services.AddTransient<ApiKeyHandler>();
        builder.Services.AddHttpClient<PersonaGymApiClient>(client => client.BaseAddress = api).AddHttpMessageHandler<ApiKeyHandler>();
        // The progress stream stays open while a run runs: its lifetime is the page's, not a request timeout's.
#pragma warning disable EXTEXP0001 // Experimental, but the documented way to take the service defaults' timeouts off one client.
        builder.Services.AddHttpClient(PersonaGymApiClient.StreamClientName, client =>
            {
                client.BaseAddress = api;
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler<ApiKeyHandler>()
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
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRunExports();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
