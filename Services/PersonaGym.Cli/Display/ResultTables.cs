using System.Globalization;
using PersonaGym.Core;
using PersonaGym.Core.Reports;
using PersonaGym.Core.Scoring;
using Spectre.Console;

namespace PersonaGym.Cli.Display;

/// <summary>The end-of-run tables: per model, each persona's five task scores, PersonaScore and parse failures.</summary>
public static class ResultTables
{
    public static void Write(IAnsiConsole console, RunReport report)
    {
        if (report.Offline)
        {
            console.MarkupLine($"[bold yellow]{Markup.Escape(report.Disclaimer!.ToUpperInvariant())}[/] — the scores below come from a deterministic stand-in model.");
        }

        foreach (var model in report.Models)
        {
            var table = new Table().Border(TableBorder.Rounded)
                .Title($"[bold]{Markup.Escape(model.Agent)}[/]");
            table.AddColumn(new TableColumn("Persona").NoWrap());
            foreach (var task in PersonaTasks.All) table.AddColumn(new TableColumn(Abbreviation(task)).RightAligned().NoWrap());
            table.AddColumn(new TableColumn("[bold]PersonaScore[/]").RightAligned().NoWrap());
            table.AddColumn(new TableColumn("Parse fail.").RightAligned().NoWrap());
            table.AddColumn(new TableColumn("Missing").NoWrap());

            foreach (var persona in model.Personas)
            {
                var cells = new List<string> { Markup.Escape(Shorten(persona.Persona)) + (persona.Status is "Completed" ? "" : $" [grey]({Markup.Escape(persona.Status)})[/]") };
                cells.AddRange(PersonaTasks.All.Select(t => Score(persona.Scores[t].Score) + (persona.Scores[t].Complete ? "" : Flag)));
                cells.Add($"[bold]{Score(persona.Scores.PersonaScore)}[/]" + (persona.Scores.Complete ? "" : Flag));
                cells.Add(persona.Scores.ParseFailures.ToString(CultureInfo.InvariantCulture));
                var missing = RunReportWriter.MissingCell(persona.Scores);
                cells.Add(missing == "—" ? "" : $"[yellow]{Markup.Escape(missing)}[/]");
                table.AddRow(cells.ToArray());
            }

            var overall = new List<string> { "[bold]Mean over personas[/]" };
            overall.AddRange(PersonaTasks.All.Select(t => $"[bold]{Score(model.Overall.TaskScores.GetValueOrDefault(t))}[/]"));
            overall.Add($"[bold]{Score(model.Overall.PersonaScore)}[/]");
            overall.Add(model.Overall.ParseFailures.ToString(CultureInfo.InvariantCulture));
            overall.Add("");
            table.AddRow(overall.ToArray());
            console.Write(table);
            var means = RunReportWriter.MeansSentence(model.Overall);
            console.MarkupLine(model.Overall.PersonasLeftOut > 0 || model.Overall.IncludesIncomplete ? $"[yellow]{Markup.Escape(means)}[/]" : $"[grey]{Markup.Escape(means)}[/]");
        }

        console.MarkupLine("[grey]" + Markup.Escape(string.Join(" · ", PersonaTasks.All.Select(t => $"{Abbreviation(t)} = {t.DisplayName()}"))) + "; parse failures are excluded from the means.[/]");

        foreach (var warning in report.Warnings)
        {
            console.MarkupLine($"[yellow]! {Markup.Escape(warning)}[/]");
        }

        foreach (var problem in report.Problems)
        {
            console.MarkupLine($"[yellow]! {Markup.Escape(problem)}[/]");
        }

        console.MarkupLine(Markup.Escape(
            $"{report.Usage.Calls} LLM calls ({report.Usage.CacheHits} from cache), {ProgressDisplay.Tokens(report.Usage.InputTokens)} input and {ProgressDisplay.Tokens(report.Usage.OutputTokens)} output tokens."));
    }

    /// <summary>Marks a score that rests on fewer batches or judges than planned.</summary>
    private const string Flag = " [yellow]⚠[/]";

    public static string Score(double? score) =>
        score is { } s ? PersonaScoring.Round2(s).ToString("0.00", CultureInfo.InvariantCulture) : "–";

    /// <summary>The initials of a task's printed name ("EA" for Expected Action), so five score columns fit a terminal.</summary>
    public static string Abbreviation(PersonaTask task) => string.Concat(task.DisplayName().Split(' ').Select(w => w[0]));

    private static string Shorten(string text) => text.Length > 40 ? text[..39] + "…" : text;
}
