using PersonaGym.Hosting;
using PersonaGym.Pipeline.Messaging;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPersonaGymStages(PipelineStages.Judging);

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
