using System.CommandLine;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Cli.Display;
using PersonaGym.Pipeline.Input;
using PersonaGym.Cli.Local;
using PersonaGym.Cli.Remote;
using PersonaGym.Core.Planning;
using PersonaGym.Core.Reports;
using PersonaGym.Data;
using PersonaGym.Models;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;
using Spectre.Console;

namespace PersonaGym.Cli.Commands;

/// <summary><c>personagym run</c>: evaluate personas, here (one process) or on a server.</summary>
public sealed class RunCommand(CliConsole io)
{
    private readonly Option<string[]> _persona = new("--persona", "-p") { Description = "A persona description (repeatable).", HelpName = "TEXT" };
    private readonly Option<string[]> _personas = new("--personas") { Description = "A file of personas: one per line, a JSON array, JSON Lines, or CSV with a 'persona' column (repeatable).", HelpName = "FILE" };
    private readonly Option<string[]> _agent = new("--agent", "-a") { Description = "A model under test (repeatable: several models are compared on the same questions). Default: offline:agent.", HelpName = "SPEC" };
    private readonly Option<string[]> _judge = new("--judge", "-j") { Description = "A judge model (repeatable; scores are averaged over judges). Default: two offline judges.", HelpName = "SPEC" };
    private readonly Option<string?> _questionWriter = new("--question-writer") { Description = "The model that selects environments and writes questions.", HelpName = "SPEC" };
    private readonly Option<string?> _exemplarWriter = new("--exemplar-writer") { Description = "The model that writes the 1-5 score exemplars for the judges.", HelpName = "SPEC" };
    private readonly Option<int> _questionsPerTask = new("--questions-per-task", "-n") { Description = "Questions per task and persona (the paper: 10).", DefaultValueFactory = _ => 10, HelpName = "N" };
    private readonly Option<string?> _environmentPool = new("--environment-pool") { Description = "Select environments from a stored question set's environments instead of the built-in pool, e.g. personagym-benchmark-v1 (the paper's 150 settings).", HelpName = "SET" };
    private readonly Option<string> _environments = new("--environments") { Description = "'auto' (an LLM picks from the pool, as in the paper) or comma-separated environment names.", DefaultValueFactory = _ => "auto", HelpName = "auto|NAME,…" };
    private readonly Option<string?> _questionSet = new("--question-set") { Description = "Use a stored question set (benchmark mode: no environment or question calls), e.g. personagym-v1.", HelpName = "NAME[@VERSION]" };
    private readonly Option<int?> _limit = new("--limit") { Description = "With --question-set and no personas: only its first N personas.", HelpName = "N" };
    private readonly Option<int> _batchSize = new("--batch-size") { Description = "Questions per exemplar and judge call (the paper: 5).", DefaultValueFactory = _ => 5, HelpName = "N" };
    private readonly Option<long?> _maxCalls = new("--max-calls") { Description = "Stop scheduling work after this many LLM calls (resume with a larger budget).", HelpName = "N" };
    private readonly Option<long?> _maxTokens = new("--max-tokens") { Description = "Stop scheduling work after this many tokens (resume with a larger budget).", HelpName = "N" };
    private readonly Option<string?> _name = new("--name") { Description = "A name for the run.", HelpName = "NAME" };
    private readonly Option<bool> _estimate = new("--estimate") { Description = "Print the estimated LLM calls and tokens per stage and model (and their cost, with PersonaGym:Pricing set), and exit without running." };
    private readonly Option<string?> _db = CommonOptions.Database();
    private readonly Option<string?> _server = CommonOptions.Server();
    private readonly Option<string?> _apiKey = CommonOptions.ApiKey();
    private readonly Option<string[]> _output = CommonOptions.Output();

    public Command Build()
    {
        var command = new Command("run", "Evaluate personas: environments, questions, in-character answers, exemplars, ensembled judging, PersonaScore.");
        foreach (var option in new Option[] { _persona, _personas, _agent, _judge, _questionWriter, _exemplarWriter, _questionsPerTask, _environments, _environmentPool,
                     _questionSet, _limit, _batchSize, _maxCalls, _maxTokens, _name, _estimate, _db, _server, _apiKey, _output })
        {
            command.Options.Add(option);
        }

        command.SetAction((result, ct) => io.GuardAsync(() => ExecuteAsync(result, ct)));
        return command;
    }

    private async Task<int> ExecuteAsync(ParseResult result, CancellationToken ct)
    {
        var input = PersonaInput.Read(result.GetValue(_persona) ?? [], result.GetValue(_personas) ?? []);
        var questionSet = result.GetValue(_questionSet);
        var noPersonas = (result.GetValue(_persona) ?? []).Length == 0 && (result.GetValue(_personas) ?? []).Length == 0;
        if (!input.IsValid && !(noPersonas && questionSet is not null))
            throw new CliException("the personas cannot be used", input.Errors);

        var outputs = result.GetValue(_output) ?? [];
        ReportFormats.Check(outputs);

        var request = new RunRequest
        {
            Name = result.GetValue(_name),
            Personas = input.Personas.Select(p => p.Text).ToList(),
            Agents = result.GetValue(_agent) ?? [],
            Judges = result.GetValue(_judge) ?? [],
            QuestionWriter = result.GetValue(_questionWriter),
            ExemplarWriter = result.GetValue(_exemplarWriter),
            QuestionsPerTask = result.GetValue(_questionsPerTask),
            Environments = (result.GetValue(_environments) ?? "auto").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            EnvironmentPool = result.GetValue(_environmentPool),
            QuestionSet = questionSet,
            PersonaLimit = result.GetValue(_limit),
            BatchSize = result.GetValue(_batchSize),
            MaxCalls = result.GetValue(_maxCalls),
            MaxTokens = result.GetValue(_maxTokens),
        };

        if (result.GetValue(_server) is { } server)
        {
            if (result.GetValue(_estimate)) throw new CliException("--estimate works locally only (it needs no server)");
            return await RunRemoteAsync(ServerClient.For(server, CommonOptions.ResolveApiKey(result.GetValue(_apiKey))), request, outputs, ct);
        }

        await using var engine = await CommonOptions.OpenAsync(result.GetValue(_db), startPipeline: true, ct);
        RunPlan plan;
        try
        {
            plan = await engine.Submitter.PlanAsync(request, ct);
        }
        catch (RunRequestException ex)
        {
            throw new CliException("the run cannot start", ex.Problems);
        }

        var estimate = RunEstimates.For(plan);
        var cost = engine.Services.GetRequiredService<ModelPricing>().Price(estimate);
        if (result.GetValue(_estimate))
        {
            io.Out.WriteLine(estimate.FormatTable());
            io.Out.WriteLine($"Cost: {cost.Format()}" + (cost.Unknown ? "" : " (cache hits cost nothing)"));
            if (ProgressDisplay.UnpricedText(cost) is { } unpriced) io.Out.WriteLine(unpriced);
            return ExitCodes.Success;
        }

        if (plan.UsesOfflineModels) io.WarnOffline();
        foreach (var warning in plan.Warnings) io.Error.WriteLine($"warning: {warning}.");
        var costText = cost.Unknown ? "" : $", about {cost.Format()}";
        io.Out.MarkupLine($"[grey]Estimate: {estimate.Calls} LLM calls, about {ProgressDisplay.Tokens(estimate.InputTokens + estimate.OutputTokens)} tokens{costText} (cache hits cost nothing; --estimate shows the breakdown).[/]");

        var runId = await engine.Submitter.CreateAsync(plan, ct);
        io.Out.MarkupLine($"Run [bold]{runId}[/] on {Markup.Escape(engine.Connection.ToString())}: {plan.Personas.Count} persona(s), {plan.Agents.Count} model(s) under test, {plan.Judges.Count} judge(s).");
        await engine.Submitter.StartAsync(runId, engine.Bus, ct);
        return await FollowLocalAsync(io, engine, runId, RunEstimates.ExpectedBatches(plan), outputs, ct);
    }

    /// <summary>Follows a run in this process until it finishes, then prints and writes its results.</summary>
    public static async Task<int> FollowLocalAsync(CliConsole io, LocalEngine engine, Guid runId, int expectedBatches, IReadOnlyList<string> outputs, CancellationToken ct)
    {
        RunSummary summary;
        try
        {
            var models = engine.Services.GetRequiredService<ModelPipelineFactory>();
            var pricing = engine.Services.GetRequiredService<ModelPricing>();
            // Waited for before the first poll, so a finish after that poll ends the display at once.
            var finished = engine.Services.GetRequiredService<RunFinishedSignal>().WhenFinished(runId);
            summary = await new ProgressDisplay(io.Out, io.PollInterval, models.Concurrency).FollowAsync(async token =>
            {
                await using var db = await engine.OpenAsync(token);
                return await db.RunSummaryAsync(runId, pricing, token);
            }, expectedBatches, ct, finished);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            io.Error.WriteLine($"Interrupted. Everything stored so far is kept; continue with: personagym resume {runId}" +
                               (engine.Connection.Provider == DatabaseProvider.Sqlite ? $" --db {engine.Connection.ConnectionString.Replace("Data Source=", "")}" : ""));
            return ExitCodes.Interrupted;
        }

        await using var reader = await engine.OpenAsync(CancellationToken.None);
        var report = (await RunReportReadModel.ReadAsync(reader, runId, cancellationToken: CancellationToken.None))?.ToReport()
            ?? throw new CliException($"run {runId} disappeared", exitCode: ExitCodes.Failed);
        return Finish(io, report, summary.Status, outputs);
    }

    private async Task<int> RunRemoteAsync(ServerClient client, RunRequest request, IReadOnlyList<string> outputs, CancellationToken ct)
    {
        var accepted = await client.SubmitAsync(request, ct);
        if (accepted.UsesOfflineModels) io.WarnOffline();
        foreach (var warning in accepted.Warnings ?? []) io.Error.WriteLine($"warning: {warning}.");
        io.Out.MarkupLine($"Run [bold]{accepted.Id}[/] submitted: {accepted.Personas} persona(s).");
        return await FollowRemoteAsync(io, client, accepted.Id, accepted.ExpectedBatches, outputs, ct);
    }

    public static async Task<int> FollowRemoteAsync(CliConsole io, ServerClient client, Guid runId, int expectedBatches, IReadOnlyList<string> outputs, CancellationToken ct)
    {
        RunSummary summary;
        try
        {
            summary = await new ProgressDisplay(io.Out, io.PollInterval).FollowAsync(token => client.SummaryAsync(runId, token), expectedBatches, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            io.Error.WriteLine($"Stopped following. The run goes on on the server; follow it again with: personagym show {runId} --server …");
            return ExitCodes.Interrupted;
        }

        var report = await client.ReportAsync(runId, CancellationToken.None);
        return Finish(io, report, summary.Status, outputs);
    }

    public static int Finish(CliConsole io, RunReport report, RunStatus status, IReadOnlyList<string> outputs)
    {
        ResultTables.Write(io.Out, report);
        foreach (var output in outputs)
        {
            var format = RunReportWriter.Write(report, output);
            io.Out.MarkupLine($"Wrote {Markup.Escape(output)} ({format}).");
        }

        io.Out.MarkupLine($"Run {report.RunId}: [bold]{status}[/].");
        return status switch
        {
            RunStatus.Completed => ExitCodes.Success,
            RunStatus.CompletedWithFailures or RunStatus.Stopped => ExitCodes.Partial,
            _ => ExitCodes.Failed,
        };
    }
}
