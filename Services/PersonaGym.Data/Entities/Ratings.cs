namespace PersonaGym.Data;

/// <summary>
/// A person's score (1–5) for one answer, given blind in the web app: how far the judges can be trusted is measured
/// against these (the paper's human evaluation). One rating per rater and answer; rating again replaces it.
/// </summary>
public sealed class HumanRating
{
    public const int MaxRaterLength = 200;

    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;
    public Guid AnswerId { get; set; }
    public Answer Answer { get; set; } = null!;

    /// <summary>Who rated: the signed-in user's name, or the name a rater gave.</summary>
    public required string Rater { get; set; }

    public int Score { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// Who a rater's name belongs to: the sign-in (an Api key's id, an Entra user's object id) that first rated under it.
/// Ratings are stored per rater name, so without this anyone signed in could rate, or read the sample of, another
/// person under their name. Names rated before sign-ins were recorded belong to the first sign-in that rates under them.
/// </summary>
public sealed class RaterName
{
    public const int MaxPrincipalLength = 200;

    /// <summary>The name as ratings store it (trimmed; compared exactly).</summary>
    public required string Name { get; set; }

    /// <summary><c>key:&lt;id&gt;</c> or <c>entra:&lt;object id&gt;</c>: stable across renamed keys and changed display names.</summary>
    public required string Principal { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A published figure for a model on a benchmark question set (the original paper's <c>published-scores/</c>), stored
/// when the benchmark is imported so leaderboards can show them as reference rows.
/// </summary>
public sealed class ReferenceScore
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid QuestionSetId { get; set; }
    public QuestionSet QuestionSet { get; set; } = null!;

    /// <summary>The model as its score file names it (e.g. <c>20240710_gpt_35</c>).</summary>
    public required string Model { get; set; }

    /// <summary>A task's display name, or "PersonaScore".</summary>
    public required string Metric { get; set; }

    public double Value { get; set; }
}
