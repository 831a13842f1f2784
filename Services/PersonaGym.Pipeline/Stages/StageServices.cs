using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using PersonaGym.Core;
using PersonaGym.Data;
using PersonaGym.Models;
using PersonaGym.Pipeline.Runs;

namespace PersonaGym.Pipeline.Stages;

/// <summary>What every stage consumer needs: the database (and its group-commit writer), the method, the models, the coordinator and the clock.</summary>
public sealed class StageServices(
    IDbContextFactory<PersonaGymDbContext> contexts,
    PersonaGymMethod method,
    ModelPipelineFactory models,
    RunCoordinator coordinator,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    GroupCommitWriter writer,
    RunFacts facts)
{
    public IDbContextFactory<PersonaGymDbContext> Contexts { get; } = contexts;

    /// <summary>Stores the rows of many model calls in shared commits.</summary>
    public GroupCommitWriter Writer { get; } = writer;
    public PersonaGymMethod Method { get; } = method;
    public RunCoordinator Coordinator { get; } = coordinator;

    /// <summary>What runs never change (models, persona texts, batches' questions), read once per process.</summary>
    public RunFacts Facts { get; } = facts;
    public PipelineOptions Options { get; } = options.Value;
    public TimeProvider Time { get; } = time;

    public IChatClient Model(string spec) => models.GetChatClient(spec);
}
