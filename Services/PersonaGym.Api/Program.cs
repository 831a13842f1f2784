using PersonaGym.Api;
using PersonaGym.Api.Security;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Pipeline.Messaging;

// `PersonaGym.Api migrate`: the migration step (the schema owner's work), then exit (MigrationStep.cs).
if (MigrationStep.IsRequested(args)) return await MigrationStep.RunAsync(args);

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
// The Api coordinates runs: it detects completion and sweeps stalled work; the workers do the stages.
builder.AddPersonaGymStages(PipelineStages.Coordination);
builder.AddPersonaGymApi();
// Api keys and Entra ID, reader and operator roles, the submission rate limit (Security/).
builder.AddPersonaGymSecurity();

var app = builder.Build();

// Migrations come before anything is served or consumed: applied here (one Api with the owner's connection string), or
// by the migration step first, when the Api's role may not change the schema (the AppHost, Azure).
if (MigrationStep.MigratesAtStart(app.Configuration)) await PersonaGymDatabase.MigrateAsync(app.Services);
else await PersonaGymDatabase.RequireCurrentSchemaAsync(app.Services);
await ApiSecurityExtensions.EnsureBootstrapKeyAsync(app.Services);

app.UsePersonaGymProblemDetails();
app.UseDatabaseOutageAnswer();
app.UsePersonaGymSecurity();
app.UseRequestBodyRules();
app.MapDefaultEndpoints();
app.MapOpenApi().AllowAnonymous();
app.MapPersonaGymApi();
app.MapPersonaGymCaller();
app.MapRunEvidenceApi();

app.Run();
return 0;

/// <summary>The Api's entry point, public so tests can host it with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
