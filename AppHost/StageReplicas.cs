namespace PersonaGym.AppHost;

/// <summary>
/// How many processes of each worker stage the AppHost runs (<c>QuestionGenerator:Replicas</c>,
/// <c>AgentRunner:Replicas</c>, <c>Judge:Replicas</c>; two each by default, so one dying process never stops a stage).
/// </summary>
public sealed record StageReplicas(int QuestionGenerator, int AgentRunner, int Judge)
{
    public const int Default = 2;

    /// <summary>The processes that log in to the database as the services' role: the Api and every worker replica.</summary>
    public int DatabaseClients => 1 + QuestionGenerator + AgentRunner + Judge;

    /// <exception cref="DistributedApplicationException">A count is not a whole number of at least one.</exception>
    public static StageReplicas From(IConfiguration configuration) =>
        new(Count(configuration, "QuestionGenerator:Replicas"), Count(configuration, "AgentRunner:Replicas"), Count(configuration, "Judge:Replicas"));

    private static int Count(IConfiguration configuration, string key)
    {
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value)) return Default;
        return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) && count >= 1
            ? count
            : throw new DistributedApplicationException($"{key} must be a whole number of at least 1, got '{value}'.");
    }
}

/// <summary>
/// Every service replica keeps its own Npgsql pool (up to 100 connections by default), so on a server this AppHost runs
/// the pools' sum must fit its <c>max_connections</c>: each replica's pool gets an equal share of what the server allows,
/// less room for the migration step, the AppHost's own checks and the server's reserved superuser slots.
/// docs/deployment.md does the same sum for Azure in infra/main.bicep.
/// </summary>
public static class ConnectionBudget
{
    /// <summary>What a server the AppHost starts (a local process or a container) is configured to accept.</summary>
    public const int ServerConnections = 500;

    /// <summary>Kept out of the pools: the migration step, the AppHost's login checks, psql sessions, reserved slots.</summary>
    public const int Spare = 20;

    /// <summary>More than Npgsql's default buys nothing.</summary>
    public const int MaximumPoolSize = 100;

    /// <summary>Fewest connections a replica may get: a stage works on 16 messages at once by default.</summary>
    public const int MinimumPoolSize = 16;

    /// <summary>The <c>Maximum Pool Size</c> of every service replica.</summary>
    /// <exception cref="DistributedApplicationException">The replicas are too many for the server's connections.</exception>
    public static int PoolSize(StageReplicas replicas, int serverConnections = ServerConnections)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        var share = (serverConnections - Spare) / replicas.DatabaseClients;
        if (share < MinimumPoolSize)
        {
            throw new DistributedApplicationException(
                $"{replicas.DatabaseClients} processes use the database (the Api, {replicas.QuestionGenerator} question-generator, " +
                $"{replicas.AgentRunner} agent-runner and {replicas.Judge} judge replicas), and {serverConnections - Spare} connections " +
                $"shared among them leave {share} each, below the {MinimumPoolSize} a stage needs. Run fewer replicas.");
        }

        return Math.Min(share, MaximumPoolSize);
    }
}
