using System.Runtime.CompilerServices;
using System.Security.Claims;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Core;
using PersonaGym.Core.Planning;
using PersonaGym.Data;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Api;

/// <summary>
/// What the web app reads of a run besides its report: the evidence page by page (personas, questions, answers,
/// verdicts), one persona with everything behind its scores, the live progress stream, and cancelling.
/// Every bad id or bound is answered with problem details.
/// </summary>
public static class RunEvidenceApi
{
    /// <summary>How often the progress stream reads the stored rows and pushes a snapshot (the web app promises one at least every 2 s).</summary>
    public static TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    public static IEndpointRouteBuilder MapRunEvidenceApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs/overview", async (PersonaGymDbContext db, ModelPricing pricing, CancellationToken ct) => TypedResults.Ok(await RunOverview.RunsAsync(db, pricing, ct)))
            .RequireAuthorization(PersonaGym.Api.Security.PersonaGymPolicies.Read).WithTags("Runs").WithName("ListRunOverview")
            .WithSummary("Every run, newest first, with its models, question set, progress and LLM usage (the web app's run list).");

        app.MapPost("/api/runs/estimate", EstimateAsync).RequireAuthorization(PersonaGym.Api.Security.PersonaGymPolicies.Operate).WithTags("Runs").WithName("EstimateRun")
            .WithSummary("Validate a run request and estimate its calls and tokens, storing and calling nothing; problems are keyed by field.")
            .Accepts<RunRequest>("application/json")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        app.MapGet("/api/leaderboard/reference", async (PersonaGymDbContext db, CancellationToken ct) => TypedResults.Ok(await Leaderboard.ReferencesAsync(db, ct)))
            .RequireAuthorization(PersonaGym.Api.Security.PersonaGymPolicies.Read).WithTags("Leaderboard").WithName("GetLeaderboardReference")
            .WithSummary("Published scores stored with benchmark question sets (the paper's), as reference rows per set and model.");

        // Readers read the evidence and rate answers; cancelling a run is an operator's.
        var run = app.MapGroup("/api/runs/{id:guid}").WithTags("Run evidence").RequireAuthorization(PersonaGym.Api.Security.PersonaGymPolicies.Read);
        run.MapGet("/personas", PersonasAsync).WithName("ListRunPersonas")
            .WithSummary("The run's personas with their PersonaScore per model, a page at a time (offset, limit).");
        run.MapGet("/personas/{personaId:guid}", PersonaAsync).WithName("GetRunPersona")
            .WithSummary("One persona of the run: per task every question, each model's answer, the exemplars and every judge's verdict.");
        run.MapGet("/questions", QuestionsAsync).WithName("ListRunQuestions")
            .WithSummary("The run's questions, a page at a time; filter by task and persona.");
        run.MapGet("/answers", AnswersAsync).WithName("ListRunAnswers")
            .WithSummary("The run's answers, a page at a time; filter by task, persona and model.");
        run.MapGet("/verdicts", VerdictsAsync).WithName("ListRunVerdicts")
            .WithSummary("The judges' verdicts, a page at a time; filter by task, persona, model, judge and parse failures.");
        run.MapGet("/progress", ProgressAsync).WithName("StreamRunProgress")
            .WithSummary("Server-sent events: the run's progress per stage with rates and ETA, every second while the run is pending or running; ends when it settles.")
            .Produces<RunProgressSnapshot>(StatusCodes.Status200OK, "text/event-stream");
        run.MapPost("/cancel", CancelAsync).RequireAuthorization(PersonaGym.Api.Security.PersonaGymPolicies.Operate).WithName("CancelRun")
            .WithSummary("Cancel a pending or running run: nothing new starts; stored work stays and resume carries on from it.");
        run.MapGet("/ratings/sample", RatingSampleAsync).WithName("GetRatingSample")
            .WithSummary("A blind, stratified sample of the run's answers to rate by hand (no model names, no judge scores), with this rater's scores so far. A rater name is its first sign-in's: another's is a 409.");
        run.MapPut("/ratings/{answerId:guid}", RateAsync).WithName("RateAnswer")
            .WithSummary("Store a rater's score (1–5) for one answer of the run; rating again replaces it. The first sign-in to rate under a name owns it: another's is a 409.");
        run.MapGet("/ratings/agreement", RatingAgreementAsync).WithName("GetRatingAgreement")
            .WithSummary("People against the judges per model: Spearman and Kendall τb per task and pooled, as personagym calibrate.");
        run.MapGet("/ratings/export", RatingExportAsync).WithName("ExportRatings")
            .WithSummary("One model's ratings as the CSV personagym calibrate --human reads (persona, task, question, score).")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv");
        return app;
    }

    private static async Task<Results<Ok<RatingSample>, ProblemHttpResult>> RatingSampleAsync(
        Guid id, string? rater, int? size, ClaimsPrincipal user, PersonaGymDbContext db, PersonaGym.Core.PersonaGymMethod method, TimeProvider time, CancellationToken ct)
    {
        if (RaterProblem(rater) is { } problem) return problem;
        var count = size ?? RunRatings.DefaultSampleSize;
        if (count is < 1 or > RunRatings.MaxSampleSize)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad sample size",
                detail: $"size must be from 1 to {RunRatings.MaxSampleSize}, got {count}");
        // Reading a sample shows the rater's scores so far, so it is the rater's alone too; it claims nothing.
        if (!await RunRatings.MayRateAsAsync(db, rater!.Trim(), PrincipalOf(user), claim: false, time.GetUtcNow(), ct)) return AnotherRatersName(rater.Trim());
        var sample = await RunRatings.SampleAsync(db, method, id, rater.Trim(), count, ct);
        return sample is null ? UnknownRun(id) : TypedResults.Ok(sample);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RateAsync(
        Guid id, Guid answerId, RatingRequest? rating, ClaimsPrincipal user, PersonaGymDbContext db, TimeProvider time, CancellationToken ct)
    {
        // Optional for the binder, so an empty body or JSON null is this problem rather than the binder's own words.
        if (rating is null)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Send a rating",
                detail: "The body is a JSON object: {\"rater\": \"a name\", \"score\": 1 to 5}.");
        if (RaterProblem(rating.Rater) is { } problem) return problem;
        if (rating.Score is < 1 or > 5)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad score", detail: $"a score is from 1 to 5, got {rating.Score}");
        if (!await db.Runs.AnyAsync(r => r.Id == id, ct)) return UnknownRun(id);
        var rater = rating.Rater!.Trim();
        return await RunRatings.RateAsync(db, id, answerId, rater, PrincipalOf(user), rating.Score, time.GetUtcNow(), ct) switch
        {
            RatingOutcome.Stored => TypedResults.NoContent(),
            RatingOutcome.AnotherRatersName => AnotherRatersName(rater),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such answer in the run", detail: $"Run {id} has no answer with id {answerId}."),
        };
    }

    private static async Task<Results<Ok<RatingAgreement>, ProblemHttpResult>> RatingAgreementAsync(Guid id, PersonaGymDbContext db, CancellationToken ct)
    {
        var agreement = await RunRatings.AgreementAsync(db, id, ct);
        return agreement is null ? UnknownRun(id) : TypedResults.Ok(agreement);
    }

    private static async Task<IResult> RatingExportAsync(Guid id, string? agent, PersonaGymDbContext db, CancellationToken ct)
    {
        if (!await db.Runs.AnyAsync(r => r.Id == id, ct)) return UnknownRun(id);
        var agents = await db.RunModels.AsNoTracking().Where(m => m.RunId == id && m.Role == RunModelRole.Agent).OrderBy(m => m.Ordinal).Select(m => m.Spec).ToListAsync(ct);
        var chosen = agent ?? (agents.Count == 1 ? agents[0] : null);
        var csv = chosen is null ? null : await RunRatings.HumanCsvAsync(db, id, chosen, ct);
        if (csv is null)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Name the model under test",
                detail: $"agent must be one of the run's models under test: {string.Join(", ", agents)}");
        return TypedResults.Text(csv, "text/csv; charset=utf-8");
    }

    /// <summary>
    /// A rater is a name of one line: control characters are refused like in every stored text (PostgreSQL cannot store
    /// NUL at all, which made it a 500), and line breaks or tabs have no place in a name either.
    /// </summary>
    private static ProblemHttpResult? RaterProblem(string? rater)
    {
        if (string.IsNullOrWhiteSpace(rater) || rater.Trim().Length > HumanRating.MaxRaterLength)
            return BadRater($"rater must be a name of 1 to {HumanRating.MaxRaterLength} characters");
        foreach (var c in rater)
        {
            if (char.IsControl(c)) return BadRater($"rater holds the control character U+{(int)c:X4}; a name has none");
        }

        return null;
    }

    /// <summary>The rating endpoints need a signed-in caller (the fallback policy), so there is always one.</summary>
    private static string PrincipalOf(ClaimsPrincipal user) =>
        PersonaGym.Api.Security.Callers.PrincipalOf(user) ?? throw new InvalidOperationException("Rating endpoints require a signed-in caller.");

    /// <summary>Another sign-in rated under this name first: ratings are stored per rater name.</summary>
    private static ProblemHttpResult AnotherRatersName(string rater) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Another rater's name",
            detail: $"The rater name '{rater}' belongs to another sign-in (the key or account that rated under it first). Ratings are stored per rater: choose a name of your own.");

    private static ProblemHttpResult BadRater(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Name the rater", detail: detail);

    private static async Task<Results<Ok<Page<RunPersonaItem>>, ProblemHttpResult>> PersonasAsync(
        Guid id, int? offset, int? limit, PersonaGymDbContext db, CancellationToken ct)
    {
        if (PageOf(offset, limit) is not { } page) return BadPage(offset, limit);
        var result = await RunEvidence.PersonasAsync(db, id, page, ct);
        return result is null ? UnknownRun(id) : TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<PersonaEvidence>, ProblemHttpResult>> PersonaAsync(Guid id, Guid personaId, PersonaGymDbContext db, CancellationToken ct)
    {
        var result = await RunEvidence.PersonaAsync(db, id, personaId, ct);
        if (result is not null) return TypedResults.Ok(result);
        if (!await db.Runs.AnyAsync(r => r.Id == id, ct)) return UnknownRun(id);
        return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such persona in the run",
            detail: $"Run {id} has no persona with id {personaId}.");
    }

    private static async Task<Results<Ok<Page<QuestionItem>>, ProblemHttpResult>> QuestionsAsync(
        Guid id, int? offset, int? limit, string? task, Guid? persona, PersonaGymDbContext db, CancellationToken ct)
    {
        if (PageOf(offset, limit) is not { } page) return BadPage(offset, limit);
        if (!TryTask(task, out var parsed)) return BadTask(task);
        var result = await RunEvidence.QuestionsAsync(db, id, page, new EvidenceFilter(parsed, persona), ct);
        return result is null ? UnknownRun(id) : TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<Page<AnswerItem>>, ProblemHttpResult>> AnswersAsync(
        Guid id, int? offset, int? limit, string? task, Guid? persona, string? agent, PersonaGymDbContext db, CancellationToken ct)
    {
        if (PageOf(offset, limit) is not { } page) return BadPage(offset, limit);
        if (!TryTask(task, out var parsed)) return BadTask(task);
        var result = await RunEvidence.AnswersAsync(db, id, page, new EvidenceFilter(parsed, persona, agent), ct);
        return result is null ? UnknownRun(id) : TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<Page<VerdictItem>>, ProblemHttpResult>> VerdictsAsync(
        Guid id, int? offset, int? limit, string? task, Guid? persona, string? agent, string? judge, bool? parseFailures,
        PersonaGymDbContext db, CancellationToken ct)
    {
        if (PageOf(offset, limit) is not { } page) return BadPage(offset, limit);
        if (!TryTask(task, out var parsed)) return BadTask(task);
        var result = await RunEvidence.VerdictsAsync(db, id, page, new EvidenceFilter(parsed, persona, agent, judge, parseFailures ?? false), ct);
        return result is null ? UnknownRun(id) : TypedResults.Ok(result);
    }

    private static async Task<Results<ServerSentEventsResult<RunProgressSnapshot>, ProblemHttpResult>> ProgressAsync(
        Guid id, IDbContextFactory<PersonaGymDbContext> contexts, ModelPricing pricing, TimeProvider time, CancellationToken ct)
    {
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            if (!await db.Runs.AnyAsync(r => r.Id == id, ct)) return UnknownRun(id);
        }

        return TypedResults.ServerSentEvents(Snapshots(id, contexts, pricing, time, ct), eventType: "progress");
    }

    /// <summary>
    /// A snapshot now, then one every <see cref="ProgressInterval"/> until the run settles, and a last one when it
    /// has. Every check is pushed, changed or not: rates, ETAs and a stall's reason move with the clock, and the web
    /// app promises an update at least every 2 s while a run is active.
    /// </summary>
    private static async IAsyncEnumerable<RunProgressSnapshot> Snapshots(
        Guid id, IDbContextFactory<PersonaGymDbContext> contexts, ModelPricing pricing, TimeProvider time, [EnumeratorCancellation] CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            RunSummary? summary;
            await using (var db = await contexts.CreateDbContextAsync(ct))
            {
                summary = await db.RunSummaryAsync(id, pricing, ct);
            }

            if (summary is null) yield break;
            var snapshot = RunProgress.Snapshot(summary, time.GetUtcNow());
            yield return snapshot;
            if (snapshot.Settled) yield break;
            try
            {
                await Task.Delay(ProgressInterval, time, ct);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }

    private static async Task<Results<Ok<RunCancelled>, ProblemHttpResult>> CancelAsync(Guid id, RunSubmitter submitter, PersonaGymDbContext db, CancellationToken ct)
    {
        var status = await db.Runs.AsNoTracking().Where(r => r.Id == id).Select(r => (RunStatus?)r.Status).FirstOrDefaultAsync(ct);
        if (status is null) return UnknownRun(id);
        if (await submitter.CancelAsync(id, ct)) return TypedResults.Ok(new RunCancelled(id, RunStatus.Cancelled));
        var now = await db.Runs.AsNoTracking().Where(r => r.Id == id).Select(r => r.Status).FirstAsync(ct);
        return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The run is not running",
            detail: $"Run {id} is {now}: only a pending or running run can be cancelled.");
    }

    private static async Task<Results<Ok<RunEstimate>, ValidationProblem, ProblemHttpResult>> EstimateAsync(HttpRequest http, RunSubmitter submitter, ModelPricing pricing, CancellationToken ct)
    {
        // Read and checked exactly as a submission is, so the estimate says what the submission would.
        var (request, notJson, invalid) = await PersonaGymApi.ReadRunRequestAsync(http, ct);
        if (notJson is not null) return notJson;
        if (invalid is not null) return invalid;
        try
        {
            var plan = await submitter.PlanAsync(request!, ct);
            var estimate = RunEstimates.For(plan);
            return TypedResults.Ok(new RunEstimate(plan.Personas.Count, RunEstimates.ExpectedBatches(plan), plan.UsesOfflineModels,
                estimate.Calls, estimate.InputTokens, estimate.OutputTokens, estimate.Lines, estimate.Assumptions)
            {
                Cost = pricing.Price(estimate),
            });
        }
        catch (RunRequestException e)
        {
            return PersonaGymApi.Invalid(e.FieldProblems);
        }
    }

    private static PageRequest? PageOf(int? offset, int? limit)
    {
        var page = new PageRequest(offset ?? 0, limit ?? PageRequest.DefaultLimit);
        return page.Problem() is null ? page : null;
    }

    private static ProblemHttpResult BadPage(int? offset, int? limit) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad page bounds",
            detail: new PageRequest(offset ?? 0, limit ?? PageRequest.DefaultLimit).Problem());

    private static bool TryTask(string? text, out PersonaTask? task)
    {
        task = null;
        if (string.IsNullOrWhiteSpace(text)) return true;
        if (!PersonaTasks.TryParse(text, out var parsed)) return false;
        task = parsed;
        return true;
    }

    private static ProblemHttpResult BadTask(string? task) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unknown task",
            detail: $"'{task}' is not a task; valid: {string.Join(", ", PersonaTasks.All.Select(t => t.DisplayName()))}.");

    private static ProblemHttpResult UnknownRun(Guid id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such run", detail: $"There is no run with id {id}.");
}
