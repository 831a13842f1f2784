using PersonaGym.Hosting;
using PersonaGym.Pipeline.Messaging;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPersonaGymStages(PipelineStages.QuestionGeneration);

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
