using System.CommandLine;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Cli.Commands;
using PersonaGym.Cli.Remote;
using PersonaGym.Core;
using PersonaGym.Core.Reports;
using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;
using PersonaGym.Data;
using PersonaGym.Pipeline.Reports;
using Spectre.Console;

namespace PersonaGym.Cli.Benchmark;

/// <summary><c>export</c> (the paper's score files) and <c>calibrate</c> (judges against people).</summary>
public sealed class ScoreFileCommands(CliConsole io)
{
    public Command Export()
    {
        var run = new Argument<string>("RUN") { Description = "The run (its id, a unique prefix of it, or its name; with --server, its full id)." };
        var directory = new Argument<string>("DIR") { Description = "The folder to write into (created if needed)." };
        var db = CommonOptions.Database();
        var server = CommonOptions.Server();
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("export", "Write, per model under test, the original benchmark's score file (<model>.scores.json) and a per-persona, per-task CSV, plus judge-validity.json.")
        {
            run, directory, db, server, apiKey,
        };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            RunReport report;
            if (result.GetValue(server) is { } url)
            {
                report = await ServerClient.For(url, CommonOptions.ResolveApiKey(result.GetValue(apiKey))).ReportAsync(CommonOptions.ParseRunId(result.GetValue(run)!), ct);
            }
            else
            {
                await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
                await using var context = await engine.OpenAsync(ct);
                var runId = await CommonOptions.ResolveRunAsync(context, result.GetValue(run)!, ct);
                report = (await RunReportReadModel.ReadAsync(context, runId, cancellationToken: ct))!.ToReport();
            }

            if (report.Models.Count == 0) throw new CliException($"run {report.RunId} has no model under test to export");
            if (report.Offline) WarnOfflineFiles();
            if (report.Status != nameof(RunStatus.Completed))
                io.Out.MarkupLine($"[yellow]Run {report.RunId} is {Markup.Escape(report.Status)}: the scores cover only what was judged so far.[/]");

            IReadOnlyList<string> written;
            try
            {
                written = BenchmarkExport.WriteModelExports(report, result.GetValue(directory)!);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot write {result.GetValue(directory)}: {ex.Message}", exitCode: ExitCodes.Failed);
            }

            foreach (var file in written) io.Out.WriteLine($"Wrote {file}");
            foreach (var model in report.Models)
                io.Out.MarkupLine(Markup.Escape($"{model.Agent}: PersonaScore {FormatScore(model.Overall.PersonaScore)} over {Covered(model)}."));
            // Repeated after the list of files, where the eye lands last.
            if (report.Offline) io.WarnOffline();
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Offline numbers in a file look like any others once it is copied elsewhere: say so before and after the list of files.</summary>
    private void WarnOfflineFiles()
    {
        io.WarnOffline();
        io.Error.WriteLine($"warning: this run used offline models ({ReportText.OfflineDisclaimer}); the exported scores are NOT an evaluation and must not be compared with published results.");
    }

    public Command Calibrate()
    {
        var run = new Argument<string>("RUN") { Description = "The run whose judges to compare with people (its id, a unique prefix of it, or its name)." };
        var human = new Option<string>("--human") { Description = "People's scores: a CSV with the columns persona, task, question, score (1-5).", HelpName = "FILE", Required = true };
        var agent = new Option<string?>("--agent", "-a") { Description = "The model under test whose answers were scored (needed when the run has several).", HelpName = "SPEC" };
        var db = CommonOptions.Database();
        var command = new Command("calibrate", "Compare people's scores with the judges' mean per answer: Spearman and Kendall tau per task and overall (the paper's human evaluation).")
        {
            run, human, agent, db,
        };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            var file = result.GetValue(human)!;
            if (!File.Exists(file)) throw new CliException($"--human: no file {file}");
            var scores = HumanScoreFile.Read(file);
            if (scores.Errors.Count > 0) throw new CliException($"{file} cannot be used: {QuestionSetCommands.Count(scores.Errors.Count, "problem")}", scores.Errors);

            await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
            await using var context = await engine.OpenAsync(ct);
            var runId = await CommonOptions.ResolveRunAsync(context, result.GetValue(run)!, ct);
            var agents = await context.RunModels.AsNoTracking().Where(m => m.RunId == runId && m.Role == RunModelRole.Agent)
                .OrderBy(m => m.Ordinal).Select(m => new { m.Id, m.Spec }).ToListAsync(ct);
            var choices = string.Join(", ", agents.Select(a => a.Spec));
            var chosen = result.GetValue(agent) is { } spec
                ? agents.FirstOrDefault(a => a.Spec == spec.Trim()) ?? throw new CliException($"--agent {spec}: run {runId} has no such model under test (it has {choices})")
                : agents.Count == 1 ? agents[0] : throw new CliException($"run {runId} has {agents.Count} models under test; name one with --agent ({choices})");

            var offline = await context.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => r.UsesOfflineModels).FirstAsync(ct);
            var judged = await JudgedAnswers.ForAgentAsync(context, runId, chosen.Id, ct);
            if (judged.Count == 0) throw new CliException($"run {runId} has no judged answers of {chosen.Spec} yet", exitCode: ExitCodes.Failed);

            var report = Calibration.Compare(scores.Scores, judged.Select(j => (j.Persona, j.Task, j.Question, j.JudgeMean)));
            if (offline) io.WarnOffline();
            io.Out.MarkupLine(Markup.Escape($"People ({QuestionSetCommands.Count(scores.Scores.Count, "score")} from {file}) against the judges' mean per answer of {chosen.Spec} in run {runId}:"));
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in new[] { "Task", "Matched", "People only", "Judges only", "Spearman", "Kendall τb" })
                table.AddColumn(new TableColumn(column).RightAligned());
            table.Columns[0].LeftAligned();
            foreach (var row in report.Tasks.Append(report.Overall))
            {
                table.AddRow(
                    row.Task?.DisplayName() ?? "[bold]All tasks[/]",
                    row.Matched.ToString(CultureInfo.InvariantCulture),
                    row.UnmatchedHuman.ToString(CultureInfo.InvariantCulture),
                    row.UnmatchedJudged.ToString(CultureInfo.InvariantCulture),
                    Correlation(row.Spearman),
                    Correlation(row.KendallTauB));
            }

            io.Out.Write(table);
            io.Out.MarkupLine("[grey]Answers are matched on persona, task and question text (white space folded); correlations use matched answers only; – means too few or constant scores.[/]");
            if (report.Overall.Matched == 0)
                throw new CliException($"none of the people's scores matches an answer of {chosen.Spec} in run {runId} (check the persona and question texts)");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Correlation(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "–";

    // As the score file rounds it (PersonaScoring.Round2): 2.675 is 2.68 in both.
    private static string FormatScore(double? value) => value is { } v ? PersonaScoring.Round2(v).ToString("0.00", CultureInfo.InvariantCulture) : "–";

    /// <summary>The personas the mean covers, out of the run's: the complete ones, as in the score file.</summary>
    private static string Covered(ModelReport model) =>
        model.Overall.CompletePersonas == model.Personas.Count
            ? QuestionSetCommands.Count(model.Personas.Count, "persona")
            : $"{model.Overall.CompletePersonas} complete of {QuestionSetCommands.Count(model.Personas.Count, "persona")}";
}
