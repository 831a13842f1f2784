using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PersonaGym.Core;
using PersonaGym.Core.Planning;
using PersonaGym.Core.Offline;
using PersonaGym.Data;
using PersonaGym.Models;
using PersonaGym.Pipeline.Llm;
using PersonaGym.Pipeline.Messaging;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Pipeline.Stages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Distributed;

namespace PersonaGym.Pipeline;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>
    /// Everything a PersonaGym process needs to run the given stages: options (validated at start), the method,
    /// the model layer (response cache and call records in the database), the coordinator, the run submitter, the
    /// bus (RabbitMQ when <paramref name="rabbitMqConnectionString"/> is set, in-memory otherwise) and, for the
    /// coordinating process, the sweeper and the stall detector. The database itself is registered by <c>AddPersonaGymData</c>.
    /// </summary>
    public static IServiceCollection AddPersonaGymPipeline(
        this IServiceCollection services,
        IConfiguration configuration,
        PipelineStages stages,
        string? rabbitMqConnectionString)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<PipelineOptions>().Bind(configuration.GetSection(PipelineOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RunLimits>().Bind(configuration.GetSection(RunLimits.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PricingOptions>().Bind(configuration.GetSection(PricingOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PricingOptions>, PricingOptionsValidation>());
        services.TryAddSingleton(sp => new ModelPricing(sp.GetRequiredService<IOptions<PricingOptions>>().Value));
        var roles = configuration.GetSection(ModelDefaults.Section);
        services.AddOptions<ModelDefaults>().Bind(roles).PostConfigure(d =>
        {
            // The AppHost passes lists as one comma-separated value (PersonaGym__Models__Judges=a,b).
            d.Judges = ModelDefaults.SplitList(roles[nameof(ModelDefaults.Judges)]) ?? (d.Judges.Count > 0 ? d.Judges : [.. ModelDefaults.DefaultJudges]);
            d.Agents = ModelDefaults.SplitList(roles[nameof(ModelDefaults.Agents)]) ?? (d.Agents.Count > 0 ? d.Agents : [.. ModelDefaults.DefaultAgents]);
        });

        services.TryAddSingleton(sp =>
        {
            var folder = sp.GetRequiredService<IOptions<PipelineOptions>>().Value.MethodAssetsFolder;
            return MethodAssets.Load(string.IsNullOrWhiteSpace(folder) ? null : folder);
        });
        services.TryAddSingleton(sp => new PersonaGymMethod(sp.GetRequiredService<MethodAssets>(), new MethodOptions()));

        services.TryAddSingleton<ILlmCallRecorder>(sp => new DatabaseLlmCallRecorder(
            sp.GetRequiredService<GroupCommitWriter>(), sp.GetRequiredService<ILogger<DatabaseLlmCallRecorder>>()));
        services.TryAddSingleton(sp => new ModelClientFactory(configuration, offlineFactory: name => new OfflineChatClient(name)));
        services.TryAddSingleton(sp =>
        {
            var options = configuration.GetSection(ModelPipelineOptions.SectionName).Get<ModelPipelineOptions>() ?? new ModelPipelineOptions();
            return new ModelPipelineFactory(
                sp.GetRequiredService<ModelClientFactory>(),
                options,
                sp.GetService<IDistributedCache>(),
                sp.GetRequiredService<ILlmCallRecorder>(),
                sp.GetService<ILoggerFactory>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<System.Diagnostics.Metrics.IMeterFactory>());
        });

        services.AddHostedService<ModelConcurrencyReporter>();
        services.TryAddSingleton<RunFinishedSignal>();
        services.TryAddSingleton<RunCoordinator>();
        services.TryAddSingleton<RunFacts>();
        services.TryAddSingleton<StageServices>();
        services.TryAddSingleton<RunSubmitter>();
        services.TryAddSingleton<QuestionSets.QuestionSetCatalog>();
        services.TryAddSingleton<PipelineConditions>();
        services.TryAddSingleton<DatabaseOutageProbe>();
        if (stages.HasFlag(PipelineStages.Coordination))
        {
            services.TryAddSingleton<Sweeper>();
            services.AddHostedService(sp => sp.GetRequiredService<Sweeper>());
            services.TryAddSingleton<StallDetector>();
            services.AddHostedService(sp => sp.GetRequiredService<StallDetector>());
            services.AddHostedService<ResponseCachePruner>();
        }

        services.AddPersonaGymMessaging(stages, rabbitMqConnectionString);
        return services;
    }
}

/// <summary>Refuses a price list that cannot be used at start, with every problem named.</summary>
internal sealed class PricingOptionsValidation : IValidateOptions<PricingOptions>
{
    public ValidateOptionsResult Validate(string? name, PricingOptions options) =>
        ModelPricing.Problems(options) is { Count: > 0 } problems
            ? ValidateOptionsResult.Fail(problems.Select(p => $"{PricingOptions.Section}: {p}."))
            : ValidateOptionsResult.Success;
}
