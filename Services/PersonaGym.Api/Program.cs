using PersonaGym.Api;
using PersonaGym.Data;
using PersonaGym.Hosting;
using PersonaGym.Pipeline.Messaging;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
// The Api coordinates runs: it detects completion and sweeps stalled work; the workers do the stages.
builder.AddPersonaGymStages(PipelineStages.Coordination);
builder.AddPersonaGymApi();

var app = builder.Build();

// The Api owns the schema: migrations are applied before anything is served or consumed.
await PersonaGymDatabase.MigrateAsync(app.Services);

app.UsePersonaGymProblemDetails();
app.MapDefaultEndpoints();
app.MapOpenApi();
app.MapPersonaGymApi();
app.MapRunEvidenceApi();

app.Run();

/// <summary>The Api's entry point, public so tests can host it with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
