using PersonaGym.Core.Benchmark;
using PersonaGym.Core.Reports;
using PersonaGym.Web.Api;

namespace PersonaGym.Web;

/// <summary>The run page's export buttons: the report as the Api serves it, and the other formats the CLI writes.</summary>
public static class RunExports
{
    public static IEndpointRouteBuilder MapRunExports(this IEndpointRouteBuilder root)
    {
        // Signed-in people only, with their own credential; a refused one sends the browser to say so.
        var app = root.MapGroup("").RequireAuthorization().AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (SessionEndedException)
            {
                return Results.LocalRedirect("~/" + Account.AccountEndpoints.SessionEndedPath);
            }
        });
        app.MapGet("/runs/{id:guid}/export/json", async (Guid id, PersonaGymApiClient api, CancellationToken ct) =>
            await api.ResultsJsonAsync(id, ct) is { } json
                ? Results.File(System.Text.Encoding.UTF8.GetBytes(json), "application/json", $"run-{id}.json")
                : Results.NotFound());
        app.MapGet("/runs/{id:guid}/export/csv", async (Guid id, PersonaGymApiClient api, CancellationToken ct) =>
            await api.ReportAsync(id, ct) is { } report ? File(RunReportWriter.ToCsv(report), "text/csv", $"run-{id}.csv") : Results.NotFound());
        app.MapGet("/runs/{id:guid}/export/md", async (Guid id, PersonaGymApiClient api, CancellationToken ct) =>
            await api.ReportAsync(id, ct) is { } report ? File(RunReportWriter.ToMarkdown(report), "text/markdown", $"run-{id}.md") : Results.NotFound());
        // The original benchmark's scores.json for one model under test (index in the run's order).
        app.MapGet("/runs/{id:guid}/export/scores/{model:int}", async (Guid id, int model, PersonaGymApiClient api, CancellationToken ct) =>
            await api.ReportAsync(id, ct) is { } report && model >= 0 && model < report.Models.Count
                ? File(BenchmarkFormat.ScoresJson(report.Models[model].Overall), "application/json", "scores.json")
                : Results.NotFound());
        // People's ratings of one model's answers, for `personagym calibrate --human`.
        app.MapGet("/runs/{id:guid}/export/ratings", async (Guid id, string agent, PersonaGymApiClient api, CancellationToken ct) =>
            await api.RatingsCsvAsync(id, agent, ct) is { } csv ? File(csv, "text/csv", $"ratings-{id}.csv") : Results.NotFound());
        return root;
    }

    private static IResult File(string text, string contentType, string name) =>
        Results.File(System.Text.Encoding.UTF8.GetBytes(text), contentType + "; charset=utf-8", name);
}
