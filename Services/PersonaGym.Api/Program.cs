using PersonaGym.Api;
using PersonaGym.Api.Security;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Pipeline.Messaging;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
// The Api coordinates runs: it detects completion and sweeps stalled work; the workers do the stages.
builder.AddPersonaGymStages(PipelineStages.Coordination);
builder.AddPersonaGymApi();
// Api keys and Entra ID, reader and operator roles, the submission rate limit (Security/).
builder.AddPersonaGymSecurity();

var app = builder.Build();

// The Api owns the schema: migrations are applied before anything is served or consumed.
await PersonaGymDatabase.MigrateAsync(app.Services);
await ApiSecurityExtensions.EnsureBootstrapKeyAsync(app.Services);

app.UsePersonaGymProblemDetails();
app.UseDatabaseOutageAnswer();
app.UsePersonaGymSecurity();
app.MapDefaultEndpoints();
app.MapOpenApi().AllowAnonymous();
app.MapPersonaGymApi();
app.MapPersonaGymCaller();
app.MapRunEvidenceApi();

app.Run();

/// <summary>The Api's entry point, public so tests can host it with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
