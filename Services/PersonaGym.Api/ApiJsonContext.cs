using System.Text.Json;
using System.Text.Json.Serialization;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Api;

/// <summary>
/// The generated (reflection-free) serialization metadata of every body the Api answers with or binds, first in the
/// HTTP JSON options' resolver chain (<see cref="ApiServiceExtensions.AddPersonaGymApi{TBuilder}"/>). Names, enums and
/// number handling come from those options, as they did with reflection, so the wire shape is unchanged; reflection
/// stays last in the chain for anything not listed here. A list is listed as the list type too: an endpoint declared
/// to return <c>IReadOnlyList&lt;T&gt;</c> is serialized by its runtime type, a <c>List&lt;T&gt;</c>.
/// The attribute's options repeat <see cref="PersonaGymJson.Options"/> for using the context on its own (a test holds them equal).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    WriteIndented = false,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    UseStringEnumConverter = true)]
// Requests.
[JsonSerializable(typeof(RunRequest))]
[JsonSerializable(typeof(RunResumeRequest))]
[JsonSerializable(typeof(RatingRequest))]
// Runs.
[JsonSerializable(typeof(RunAccepted))]
[JsonSerializable(typeof(RunDetails))]
[JsonSerializable(typeof(RunResumed))]
[JsonSerializable(typeof(RunCancelled))]
[JsonSerializable(typeof(RunEstimate))]
[JsonSerializable(typeof(RunProgressSnapshot))]
[JsonSerializable(typeof(IReadOnlyList<RunListItem>))]
[JsonSerializable(typeof(List<RunListItem>))]
[JsonSerializable(typeof(IReadOnlyList<RunOverviewItem>))]
[JsonSerializable(typeof(List<RunOverviewItem>))]
[JsonSerializable(typeof(IReadOnlyList<QuestionSetListItem>))]
[JsonSerializable(typeof(List<QuestionSetListItem>))]
// Leaderboard.
[JsonSerializable(typeof(IReadOnlyList<LeaderboardEntry>))]
[JsonSerializable(typeof(List<LeaderboardEntry>))]
[JsonSerializable(typeof(IReadOnlyList<ReferenceEntry>))]
[JsonSerializable(typeof(List<ReferenceEntry>))]
// Run evidence and ratings.
[JsonSerializable(typeof(Page<RunPersonaItem>))]
[JsonSerializable(typeof(Page<QuestionItem>))]
[JsonSerializable(typeof(Page<AnswerItem>))]
[JsonSerializable(typeof(Page<VerdictItem>))]
[JsonSerializable(typeof(PersonaEvidence))]
[JsonSerializable(typeof(RatingSample))]
[JsonSerializable(typeof(RatingAgreement))]
// Access.
[JsonSerializable(typeof(Caller))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
