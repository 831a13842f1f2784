using System.CommandLine;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Cli.Display;
using PersonaGym.Cli.Remote;
using PersonaGym.Core;
using PersonaGym.Core.Planning;
using PersonaGym.Core.Reports;
using PersonaGym.Core.Statistics;
using PersonaGym.Data;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;
using Spectre.Console;

namespace PersonaGym.Cli.Commands;

/// <summary><c>resume</c>, <c>runs</c> and <c>show</c>: the life of runs after they start.</summary>
public sealed class RunsCommands(CliConsole io)
{
    public Command Resume()
    {
        var run = new Argument<string>("RUN") { Description = "The run's id (or a unique prefix of it, or its name)." };
        var maxCalls = new Option<long?>("--max-calls") { Description = "A new LLM call budget for the run.", HelpName = "N" };
        var maxTokens = new Option<long?>("--max-tokens") { Description = "A new token budget for the run.", HelpName = "N" };
        var db = CommonOptions.Database();
        var server = CommonOptions.Server();
        var apiKey = CommonOptions.ApiKey();
        var output = CommonOptions.Output();
        var command = new Command("resume", "Continue an interrupted, stopped (budget) or partly failed run; stored work is never redone or paid for again.")
        {
            run, maxCalls, maxTokens, db, server, apiKey, output,
        };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            var outputs = result.GetValue(output) ?? [];
            ReportFormats.Check(outputs);
            if (result.GetValue(server) is { } url)
            {
                var client = ServerClient.For(url, CommonOptions.ResolveApiKey(result.GetValue(apiKey)));
                var id = CommonOptions.ParseRunId(result.GetValue(run)!);
                await client.ResumeAsync(id, result.GetValue(maxCalls), result.GetValue(maxTokens), ct);
                return await RunCommand.FollowRemoteAsync(io, client, id, 0, outputs, ct);
            }

            await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: true, ct);
            Guid runId;
            int expected;
            await using (var context = await engine.OpenAsync(ct))
            {
                runId = await CommonOptions.ResolveRunAsync(context, result.GetValue(run)!, ct);
                var summary = await context.RunSummaryAsync(runId, ct);
                expected = summary!.Batches.Planned;
                if (summary.UsesOfflineModels) io.WarnOffline();
            }

            try
            {
                var published = await engine.Submitter.ResumeAsync(runId, engine.Bus, result.GetValue(maxCalls), result.GetValue(maxTokens), ct);
                io.Out.MarkupLine($"Resuming run [bold]{runId}[/]: {published} unfinished item(s).");
            }
            catch (RunRequestException ex)
            {
                throw new CliException("the run cannot be resumed", ex.Problems);
            }

            return await RunCommand.FollowLocalAsync(io, engine, runId, expected, outputs, ct);
        }));
        return command;
    }

    public Command List()
    {
        var db = CommonOptions.Database();
        var server = CommonOptions.Server();
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("runs", "List the runs in the database (or on a server), newest first.") { db, server, apiKey };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            IReadOnlyList<RunListItem> runs;
            if (result.GetValue(server) is { } url)
            {
                runs = await ServerClient.For(url, CommonOptions.ResolveApiKey(result.GetValue(apiKey))).ListAsync(ct);
            }
            else
            {
                await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
                await using var context = await engine.OpenAsync(ct);
                runs = await RunListing.RunsAsync(context, engine.Services.GetRequiredService<ModelPricing>(), ct);
            }

            if (runs.Count == 0)
            {
                io.Out.WriteLine("No runs yet. Start one with: personagym run --persona \"…\"");
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in new[] { "Id", "Name", "Status", "Personas", "Models under test", "Calls", "Cost", "Created" }) table.AddColumn(column);
            foreach (var r in runs)
            {
                table.AddRow(
                    r.Id.ToString(),
                    Markup.Escape(r.Name) + (r.UsesOfflineModels ? " [yellow](offline)[/]" : ""),
                    r.Status.ToString(),
                    r.Personas.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join(", ", r.Agents)),
                    r.Calls.ToString("N0", CultureInfo.InvariantCulture),
                    Markup.Escape(r.Cost is null || r.Cost.Unknown ? "–" : r.Cost.Format()),
                    r.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            }

            io.Out.Write(table);
            // Said once under the table, not per run: which models used have no price ("≥" marks the runs it affects).
            var unpriced = runs.SelectMany(r => r.Cost?.UnpricedModels ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (unpriced.Count > 0 && runs.Any(r => r.Cost is { Unknown: false }))
                io.Out.MarkupLine(Markup.Escape(ProgressDisplay.WherePricesAreSet(MoneyCost.UnpricedNote(unpriced, unknown: false))));
            return ExitCodes.Success;
        }));
        return command;
    }

    public Command Show()
    {
        var run = new Argument<string>("RUN") { Description = "The run's id (or a unique prefix of it, or its name)." };
        var db = CommonOptions.Database();
        var server = CommonOptions.Server();
        var apiKey = CommonOptions.ApiKey();
        var output = CommonOptions.Output();
        var follow = new Option<bool>("--follow") { Description = "If the run is still going, follow its progress until it finishes." };
        var includeIncomplete = new Option<bool>("--include-incomplete")
        {
            Description = "Average every persona with a score into the model means, also those resting on fewer judges or batches than planned (default: complete personas only).",
        };
        var command = new Command("show", "Show a run: progress, PersonaScores per model and persona (flagging what each lacks), judge agreement, usage and problems.")
        {
            run, db, server, apiKey, output, follow, includeIncomplete,
        };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            var outputs = result.GetValue(output) ?? [];
            ReportFormats.Check(outputs);
            RunReport report;
            RunSummary summary;
            if (result.GetValue(server) is { } url)
            {
                var client = ServerClient.For(url, CommonOptions.ResolveApiKey(result.GetValue(apiKey)));
                var id = CommonOptions.ParseRunId(result.GetValue(run)!);
                if (result.GetValue(follow)) return await RunCommand.FollowRemoteAsync(io, client, id, 0, outputs, ct);
                summary = await client.SummaryAsync(id, ct) ?? throw new CliException($"no run {id} on the server");
                report = await client.ReportAsync(id, ct, result.GetValue(includeIncomplete));
            }
            else
            {
                await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: result.GetValue(follow), ct);
                await using var context = await engine.OpenAsync(ct);
                var id = await CommonOptions.ResolveRunAsync(context, result.GetValue(run)!, ct);
                summary = (await context.RunSummaryAsync(id, engine.Services.GetRequiredService<ModelPricing>(), ct))!;
                if (result.GetValue(follow) && summary.Status is RunStatus.Running or RunStatus.Pending)
                    return await RunCommand.FollowLocalAsync(io, engine, id, summary.Batches.Planned, outputs, ct);
                report = (await RunReportReadModel.ReadAsync(context, id, result.GetValue(includeIncomplete), ct))!.ToReport();
            }

            io.Out.MarkupLine($"[bold]{Markup.Escape(report.Name ?? report.RunId.ToString())}[/] ({report.RunId}) — {summary.Status}" +
                (summary.Stalled is not null ? " [yellow](cannot progress: see the problems below)[/]" : ""));
            io.Out.WriteLine(ProgressDisplay.Line(summary, summary.Batches.Planned, (summary.CompletedAt ?? DateTimeOffset.UtcNow) - summary.CreatedAt));
            if (ProgressDisplay.UnpricedText(summary.Cost) is { } unpriced) io.Out.MarkupLine($"[grey]{Markup.Escape(unpriced)}[/]");
            io.Out.MarkupLine(Markup.Escape($"Questions: {report.QuestionSet}; judges: {string.Join(", ", report.Judges)}; exemplars: {report.ExemplarWriter}."));
            WriteValidity(io.Out, report.JudgeValidity);
            return RunCommand.Finish(io, report, summary.Status, outputs);
        }));
        return command;
    }

    /// <summary>How far the judges agree, per task: what no other persona-evaluation tool reports.</summary>
    public static void WriteValidity(IAnsiConsole console, JudgeValidityReport? validity)
    {
        if (validity is null) return;
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Judge validity[/]");
        foreach (var column in new[] { "Task", "Items", "Judges", "Pearson", "Spearman", "Kendall τb", "Mean |Δ|", "Exact agreement", "Parse failures" })
            table.AddColumn(column);
        foreach (var task in validity.Tasks.Append(validity.Overall))
        {
            var pair = task.Pairs.FirstOrDefault();
            table.AddRow(
                task.Task?.DisplayName() ?? "[bold]All tasks[/]",
                task.Items.ToString(CultureInfo.InvariantCulture),
                task.Judges.Count.ToString(CultureInfo.InvariantCulture),
                Number(pair?.Pearson), Number(pair?.Spearman), Number(pair?.KendallTauB), Number(pair?.MeanAbsoluteDifference),
                pair?.ExactAgreementRate is { } rate ? rate.ToString("P0", CultureInfo.InvariantCulture) : "–",
                string.Join(", ", task.Judges.Select(j => $"{j.ParseFailures}")));
        }

        console.Write(table);
        if (validity.Overall.Pairs.Count > 1)
            console.MarkupLine("[grey]Agreement shown for the first pair of judges; `--output FILE.json` has every pair.[/]");
    }

    private static string Number(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "–";
}
