using System.Globalization;
using System.Net;
using System.Text;
using PersonaGym.Core.Reports;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Api;

/// <summary>
/// What someone who opens the Api in a browser sees: the runs with links to their JSON, and the OpenAPI document.
/// Plain HTML on purpose; the full web UI is a separate concern.
/// </summary>
public static class LandingPage
{
    public static async Task<IResult> RenderAsync(PersonaGymDbContext db, CancellationToken ct)
    {
        var runs = await RunListing.RunsWithoutUsageAsync(db, ct);
        var html = new StringBuilder();
        html.Append("""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>PersonaGym</title>
            <style>
              body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 70rem; }
              table { border-collapse: collapse; width: 100%; }
              th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; }
              .offline { color: #a15c00; font-weight: bold; }
            </style>
            </head>
            <body>
            <h1>PersonaGym</h1>
            <p>Evaluates persona agents with the PersonaGym method (arXiv 2407.18416).
            The API is described by the <a href="/openapi/v1.json">OpenAPI document</a>;
            see also the <a href="/api/leaderboard">leaderboard</a> and the <a href="/api/question-sets">question sets</a>.</p>
            <h2>Runs</h2>

            """);

        if (runs.Count == 0)
        {
            html.Append("<p>No runs yet. Submit one with <code>POST /api/runs</code> or <code>personagym run --server URL</code>.</p>\n");
        }
        else
        {
            html.Append("<table>\n<tr><th>Name</th><th>Status</th><th>Personas</th><th>Models under test</th><th>Created</th><th>JSON</th></tr>\n");
            foreach (var run in runs)
            {
                var id = run.Id.ToString();
                html.Append("<tr><td>").Append(Encode(run.Name));
                if (run.Disclaimer is { } disclaimer) html.Append(" <span class=\"offline\">(").Append(Encode(disclaimer)).Append(")</span>");
                html.Append("</td><td>").Append(run.Status)
                    .Append("</td><td>").Append(run.Personas.ToString(CultureInfo.InvariantCulture))
                    .Append("</td><td>").Append(Encode(string.Join(", ", run.Agents)))
                    .Append("</td><td>").Append(run.CreatedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture))
                    .Append("</td><td><a href=\"/api/runs/").Append(id).Append("\">status</a> · <a href=\"/api/runs/").Append(id)
                    .Append("/results\">results</a> · <a href=\"/api/runs/").Append(id).Append("/validity\">judge validity</a></td></tr>\n");
            }

            html.Append("</table>\n");
        }

        html.Append("<p><small>Runs marked “").Append(Encode(ReportText.OfflineDisclaimer))
            .Append("” used the deterministic offline models: their scores measure nothing.</small></p>\n</body>\n</html>\n");
        return TypedResults.Content(html.ToString(), "text/html; charset=utf-8");
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
