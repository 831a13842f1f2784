using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Api.Security;
using PersonaGym.Core.Planning;
using PersonaGym.Core.Reports;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Api;

/// <summary>
/// The REST Api: submit runs, follow them, read their results. Requests are validated exactly as the CLI validates
/// them (<see cref="RunSubmitter.PlanAsync"/>), and every answer about a run says when offline models were used.
/// </summary>
public static class PersonaGymApi
{
    public const string ResultsContentType = "application/json";

    /// <summary>How long a submission waits for the broker to take a new run's first messages.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    public static IEndpointRouteBuilder MapPersonaGymApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", LandingPage.RenderAsync).ExcludeFromDescription().RequireAuthorization(PersonaGymPolicies.Read);

        // Reading needs the reader role; what spends money (submit, resume, cancel, budgets) the operator role.
        var runs = app.MapGroup("/api/runs").WithTags("Runs").RequireAuthorization(PersonaGymPolicies.Read);
        runs.MapPost("/", SubmitAsync)
            .RequireAuthorization(PersonaGymPolicies.Operate)
            .RequireRateLimiting(PersonaGymPolicies.Submissions)
            .WithName("SubmitRun")
            .WithSummary("Submit a run; validated completely before anything is stored or called.")
            .Accepts<RunRequest>("application/json")
            .Produces<RunAccepted>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        runs.MapGet("/", ListRunsAsync).WithName("ListRuns").WithSummary("Every run, newest first.");
        runs.MapGet("/{id:guid}", GetRunAsync).WithName("GetRun")
            .WithSummary("A run's status, progress per stage, usage and problems (failed or stalled items with reasons).");
        runs.MapGet("/{id:guid}/results", GetResultsAsync).WithName("GetRunResults")
            .WithSummary("The run's report per model, persona and task, with what each score lacks: the JSON shape of docs/output-format.md. " +
                         "Means cover complete personas unless ?includeIncomplete=true.")
            .Produces(StatusCodes.Status200OK, contentType: ResultsContentType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        runs.MapGet("/{id:guid}/validity", GetValidityAsync).WithName("GetRunJudgeValidity")
            .WithSummary("How far the run's judges agree, per task and pooled (the report's judgeValidity section).")
            .Produces(StatusCodes.Status200OK, contentType: ResultsContentType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        runs.MapPost("/{id:guid}/resume", ResumeAsync).WithName("ResumeRun")
            .RequireAuthorization(PersonaGymPolicies.Operate)
            .RequireRateLimiting(PersonaGymPolicies.Submissions)
            .WithSummary("Resume a stopped, failed or interrupted run, optionally with new budgets; stored work is never redone.");

        app.MapGet("/api/question-sets", ListQuestionSetsAsync).RequireAuthorization(PersonaGymPolicies.Read).WithTags("Question sets").WithName("ListQuestionSets")
            .WithSummary("Stored question sets: imported benchmarks and sets generated for runs.");
        app.MapGet("/api/leaderboard", GetLeaderboardAsync).RequireAuthorization(PersonaGymPolicies.Read).WithTags("Leaderboard").WithName("GetLeaderboard")
            .WithSummary("Every model under test of every run, best PersonaScore first; compare only within a question set.");
        return app;
    }

    private static async Task<Results<Accepted<RunAccepted>, ValidationProblem, ProblemHttpResult>> SubmitAsync(
        HttpRequest http, RunSubmitter submitter, IPublishEndpoint publish, IDbContextFactory<PersonaGymDbContext> contexts,
        PipelineConditions conditions, CancellationToken ct)
    {
        var (request, notJson, invalid) = await ReadRunRequestAsync(http, ct);
        if (notJson is not null) return notJson;
        if (invalid is not null) return invalid;

        RunPlan plan;
        try
        {
            plan = await submitter.PlanAsync(request!, ct);
        }
        catch (RunRequestException e)
        {
            return Invalid(e.FieldProblems);
        }

        var runId = await submitter.CreateAsync(plan, ct);
        // The run is stored: publish its first messages even if the client has gone away meanwhile. A broker that does
        // not take them in time is no failure of the submission: when it is back, the stall detector publishes the
        // unfinished work of every running run again (and the sweeper what is still stalled later), so the answer
        // stays "accepted" and never hangs. A broker known to be down is not waited for at all.
        var warnings = plan.Warnings.ToList();
        if (conditions.Broker is { } outage)
        {
            warnings.Add($"The message broker has been unreachable since {outage.Since:u}: the run is stored and starts when it is back.");
        }
        else
        {
            using var startTimeout = new CancellationTokenSource(StartTimeout);
            try
            {
                await submitter.StartAsync(runId, publish, startTimeout.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException || startTimeout.IsCancellationRequested)
            {
                http.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PersonaGymApi))
                    .LogWarning(e, "Run {RunId} is stored but its first messages could not be published; they are published again when the broker is back", runId);
                conditions.RepublishPending = true;
                warnings.Add("The message broker did not take the run's first messages in time: the run is stored and starts when the broker takes them.");
            }
        }

        await using var db = await contexts.CreateDbContextAsync(ct);
        var name = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => r.Name).SingleAsync(ct);
        var estimate = RunEstimates.For(plan);
        return TypedResults.Accepted($"/api/runs/{runId}", new RunAccepted(
            runId, name, plan.Personas.Count, plan.UsesOfflineModels,
            plan.UsesOfflineModels ? ReportText.OfflineDisclaimer : null,
            RunEstimates.ExpectedBatches(plan), estimate.Lines, warnings));
    }

    private static async Task<Ok<IReadOnlyList<RunListItem>>> ListRunsAsync(PersonaGymDbContext db, ModelPricing pricing, CancellationToken ct) =>
        TypedResults.Ok(await RunListing.RunsAsync(db, pricing, ct));

    private static async Task<Results<Ok<RunDetails>, ProblemHttpResult>> GetRunAsync(Guid id, PersonaGymDbContext db, ModelPricing pricing, CancellationToken ct)
    {
        var summary = await db.RunSummaryAsync(id, pricing, ct);
        if (summary is null) return UnknownRun(id);
        // Read after the summary: a status and its reason are written together, so a run the summary shows as stopped
        // or failed is read here with its reason, never as the running row from a moment before.
        var run = await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, ct);
        if (run is null) return UnknownRun(id);
        return TypedResults.Ok(new RunDetails(summary, await RunReportBuilder.ProblemsAsync(db, run, ct)));
    }

    private static async Task<IResult> GetResultsAsync(Guid id, PersonaGymDbContext db, CancellationToken ct, bool includeIncomplete = false)
    {
        // Model-level means cover complete personas only, unless the caller asks for every persona with a score.
        var report = await RunReportReadModel.ReadAsync(db, id, includeIncomplete, ct);
        return report is null ? UnknownRun(id) : TypedResults.Text(report.Json, ResultsContentType);
    }

    private static async Task<IResult> GetValidityAsync(Guid id, PersonaGymDbContext db, CancellationToken ct)
    {
        var report = await RunReportReadModel.ReadAsync(db, id, cancellationToken: ct);
        if (report is null) return UnknownRun(id);
        // The report's own fields, as it holds them: the judgeValidity section is null until judgements exist.
        return TypedResults.Text(RunReportWriter.JudgeValidityView(report.Json), ResultsContentType);
    }

    private static async Task<Results<Ok<RunResumed>, ValidationProblem, ProblemHttpResult>> ResumeAsync(
        Guid id, RunResumeRequest? budgets, RunSubmitter submitter, IPublishEndpoint publish, PersonaGymDbContext db, CancellationToken ct)
    {
        if (!await db.Runs.AnyAsync(r => r.Id == id, ct)) return UnknownRun(id);
        try
        {
            var republished = await submitter.ResumeAsync(id, publish, budgets?.MaxCalls, budgets?.MaxTokens, ct);
            var offline = await db.Runs.Where(r => r.Id == id).Select(r => r.UsesOfflineModels).SingleAsync(ct);
            return TypedResults.Ok(new RunResumed(id, republished, offline ? ReportText.OfflineDisclaimer : null));
        }
        catch (RunRequestException e)
        {
            return Invalid(e.FieldProblems);
        }
    }

    private static async Task<Ok<IReadOnlyList<QuestionSetListItem>>> ListQuestionSetsAsync(PersonaGymDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await RunListing.QuestionSetsAsync(db, ct));

    private static async Task<Ok<IReadOnlyList<LeaderboardEntry>>> GetLeaderboardAsync(PersonaGymDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await Leaderboard.BuildAsync(db, ct));

    /// <summary>
    /// The run request in the body, read alike for a submission and an estimate: not JSON is a 415 problem; JSON that
    /// does not read is a 400 keyed by the field it stopped at; JSON <c>null</c> lists are named all at once. The body's
    /// size and charset were checked before any endpoint ran (<see cref="RequestBodies"/>).
    /// </summary>
    internal static async Task<(RunRequest? Request, ProblemHttpResult? NotJson, ValidationProblem? Invalid)> ReadRunRequestAsync(HttpRequest http, CancellationToken ct)
    {
        if (!http.HasJsonContentType())
        {
            return (null, TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "A run request is JSON",
                detail: "Send the run request with Content-Type: application/json."), null);
        }

        RunRequest? request;
        try
        {
            request = await http.ReadFromJsonAsync<RunRequest>(PersonaGymJson.Options, ct);
        }
        catch (JsonException e)
        {
            // The reader's path names the field that would not read ("$.questionsPerTask", "$.personas[3]").
            var field = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : RunRequestFields.General;
            return (null, null, Invalid([new RunProblem(field, $"the body is not a valid run request: {e.Message}")]));
        }

        if (request is null) return (null, null, Invalid([new RunProblem(RunRequestFields.General, "the body is empty: send a run request as a JSON object")]));
        var shapeProblems = ShapeProblems(request);
        return shapeProblems.Count > 0 ? (null, null, Invalid(shapeProblems)) : (request, null, null);
    }

    /// <summary>JSON <c>null</c> where a list is expected would otherwise reach the planner as a missing list.</summary>
    internal static List<RunProblem> ShapeProblems(RunRequest request)
    {
        var problems = new List<RunProblem>();
        foreach (var (name, list) in new[] { (RunRequestFields.Personas, request.Personas), (RunRequestFields.Agents, request.Agents), (RunRequestFields.Judges, request.Judges), (RunRequestFields.Environments, request.Environments) })
        {
            if (list is null) problems.Add(new RunProblem(name, $"{name} must be a list (use [] for none)"));
            else
            {
                for (var i = 0; i < list.Count; i++)
                    if (list[i] is null) problems.Add(new RunProblem(RunRequestFields.Item(name, i), $"{name} must hold only strings"));
            }
        }

        return problems;
    }

    /// <summary>A 400 with every problem keyed by the request field it is about (<see cref="RunRequestFields"/>).</summary>
    internal static ValidationProblem Invalid(IReadOnlyList<RunProblem> problems) =>
        TypedResults.ValidationProblem(
            RunRequestFields.Group(problems),
            detail: $"{RunRequestException.Messages(problems).Count} problem(s); nothing was stored.",
            title: "The run request is invalid");

    private static ProblemHttpResult UnknownRun(Guid id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such run", detail: $"There is no run with id {id}.");
}
