using PersonaGym.Web;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPersonaGymWeb();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UsePersonaGymWeb();

app.Run();

/// <summary>The web app's entry point.</summary>
public partial class Program;
