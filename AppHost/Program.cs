// The whole PersonaGym system at a glance: where data and messages live, the four services,
// which models they use and how many judges run side by side.
var builder = DistributedApplication.CreateBuilder(args);

// Postgres (connection string "personagym") and RabbitMQ ("rabbitmq"): containers, local
// processes or existing servers, chosen by Infrastructure:Mode (see InfrastructureExtensions.cs).
var infrastructure = builder.AddPersonaGymInfrastructure();

// Which model plays which role, and the provider keys (see ModelSettingsExtensions.cs).
var models = builder.AddModelSettings();

// Workers that exit are started again with backoff (WorkerRestartExtensions.cs).
// Every stage runs two replicas by default, so one dying process never stops a stage, and each scales on its own
// (replicas also written into the published manifest): judging is the bulk of the work (exemplars plus every judge
// model per batch), and in benchmark mode the agent runner makes most calls. Each replica is a competing consumer
// of its stage's queue; every stored artefact has a unique key, so two replicas never store one piece twice.
// On the servers it starts, the AppHost sizes every replica's database pool so that all of them fit (ConnectionBudget).
var replicas = StageReplicas.From(builder.Configuration);

// The migration step runs once, as the schema's owner; every service logs in as a role that may not change the schema
// (DatabaseLoginExtensions.cs). The Api starts after it, and the workers wait for the Api.
var migrations = builder.AddMigrationStep("migrations", infrastructure);

var api = builder.AddProject<Projects.PersonaGym_Api>("api")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithInfrastructure(infrastructure)
    .WithSchemaFrom(migrations)
    .WithModelSettings(models)
    // A first operator key for the Api (Parameters:api-key; see ApiAccessExtensions.cs).
    .WithBootstrapApiKey();

builder.AddProject<Projects.PersonaGym_QuestionGenerator>("question-generator")
    .WithReplicas(replicas.QuestionGenerator)
    .WithReplicasInManifest()
    .WithHttpHealthCheck("/health")
    .WithInfrastructure(infrastructure)
    .WithModelSettings(models)
    .WithRestartOnExit()
    .WaitFor(api);

builder.AddProject<Projects.PersonaGym_AgentRunner>("agent-runner")
    .WithReplicas(replicas.AgentRunner)
    .WithReplicasInManifest()
    .WithHttpHealthCheck("/health")
    .WithInfrastructure(infrastructure)
    .WithModelSettings(models)
    .WithRestartOnExit()
    .WaitFor(api);

builder.AddProject<Projects.PersonaGym_Judge>("judge")
    .WithReplicas(replicas.Judge)
    .WithReplicasInManifest()
    .WithHttpHealthCheck("/health")
    .WithInfrastructure(infrastructure)
    .WithModelSettings(models)
    .WithRestartOnExit()
    .WaitFor(api);

// The web app: a client of the Api only (service discovery), as the dashboard's link for people. It holds no key:
// people sign in with their own Api key (or Entra ID) and their calls carry it.
builder.AddProject<Projects.PersonaGym_Web>("web")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithReference(api)
    .WaitFor(api);

builder.Build().Run();
