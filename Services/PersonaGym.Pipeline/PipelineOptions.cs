using System.ComponentModel.DataAnnotations;

namespace PersonaGym.Pipeline;

/// <summary>Settings of the stages (section <c>PersonaGym:Pipeline</c>).</summary>
public sealed class PipelineOptions
{
    public const string SectionName = "PersonaGym:Pipeline";

    /// <summary>Personas whose questions one process generates at once.</summary>
    [Range(1, 1024)]
    public int QuestionGeneratorConcurrency { get; set; } = 8;

    /// <summary>
    /// Batches one process answers at once (each batch's questions are answered in parallel). The model's adaptive
    /// limit decides how many calls actually run; this only has to offer it enough work to reach a provider's capacity.
    /// </summary>
    [Range(1, 1024)]
    public int AgentRunnerConcurrency { get; set; } = 64;

    /// <summary>
    /// Batches one process judges at once. A batch makes its exemplar call and then its judge calls, one after the
    /// other, so it keeps fewer calls in flight than an answering batch; 16 left judges at 9 calls in flight (bench/).
    /// </summary>
    [Range(1, 1024)]
    public int JudgeConcurrency { get; set; } = 64;

    /// <summary>Redeliveries of a message whose work failed with a transient error, before the item is marked failed.</summary>
    [Range(0, 20)]
    public int MessageRetries { get; set; } = 3;

    /// <summary>Delay before the first redelivery; doubled each time.</summary>
    public TimeSpan MessageRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the sweeper looks for stalled work. Zero turns the sweeper off.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the coordinating process deletes expired response cache entries. Zero turns pruning off.</summary>
    public TimeSpan CachePruneInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How often each process writes its models' current concurrency limits for the Api and <c>show</c> (only values
    /// that changed are written). Zero turns the reports off.
    /// </summary>
    public TimeSpan ConcurrencyReportInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Work that made no progress for this long is published again.</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How often the coordinating process checks that every running run can progress (broker and database reachable,
    /// a consumer on each queue with work waiting, progress within <see cref="ProgressTimeout"/>) and reports on the run
    /// why not. Zero turns the check off.
    /// </summary>
    public TimeSpan StallCheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a stage's queue must have had no consumer, seen at consecutive checks, before runs with work waiting
    /// there are reported as unable to progress. Workers starting up (or restarted by the AppHost after a crash)
    /// connect within seconds; a report in that time would be a false alarm. With the defaults a stage whose every
    /// replica is gone is reported 20–35 s after it went.
    /// </summary>
    public TimeSpan NoConsumerGrace { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long one of a process's receive endpoints may stay without consuming (MassTransit reports it unhealthy, or
    /// the broker counts no consumer on its queue) while the broker answers, before the process restarts that endpoint
    /// (<see cref="Messaging.ReceiveEndpointWatchdog"/>). After a broker outage MassTransit reconnects within seconds;
    /// an endpoint still down after this long is stuck, which MassTransit does not recover by itself. Zero turns the
    /// watchdog off.
    /// </summary>
    public TimeSpan EndpointRecoveryTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A running run with no model call recorded for this long is reported as making no progress.</summary>
    public TimeSpan ProgressTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Re-publications of one stalled item before it is marked failed.</summary>
    [Range(1, 100)]
    public int MaxSweeps { get; set; } = 5;

    /// <summary>
    /// The lease of an exemplar claim. The writer renews it while its call runs (every third of the lease); a claim
    /// not renewed for this long belongs to a worker that died, and another one takes it over.
    /// </summary>
    public TimeSpan ExemplarClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The lease of a delivery's claim on one agent's batch while it answers or judges it. The holder renews it every
    /// third of the lease; another message for the same work is dropped while the claim is fresh (the holder hands the
    /// work on) and takes the work over once a dead holder's claim is older than this.
    /// </summary>
    public TimeSpan WorkClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a worker waits, at most, for exemplars that another (live) worker is writing.</summary>
    public TimeSpan ExemplarWaitLimit { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Optional folder of method overrides (rubrics, prompts, environments); see docs/core-api.md.</summary>
    public string? MethodAssetsFolder { get; set; }
}
