// The whole PersonaGym system at a glance: where data and messages live, the four services,
// which models they use and how many judges run side by side.
var builder = DistributedApplication.CreateBuilder(args);

// Postgres (connection string "personagym") and RabbitMQ ("rabbitmq"): containers, local
// processes or existing servers, chosen by Infrastructure:Mode (see InfrastructureExtensions.cs).
var infrastructure = builder.AddPersonaGymInfrastructure();

// Which model plays which role, and the provider keys (see ModelSettingsExtensions.cs).
var models = builder.AddModelSettings();

// Judging is the bulk of the work (exemplars plus every judge model per batch), so it scales on its own.
var judgeReplicas = builder.Configuration.GetValue("Judge:Replicas", 2);

// The Api owns the database schema (it applies migrations at start), so the workers wait for it.
var api = builder.AddProject<Projects.PersonaGym_Api>("api")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithInfrastructure(infrastructure)
    .WithModelSettings(models);

builder.AddProject<Projects.PersonaGym_QuestionGenerator>("question-generator")
    .WithHttpHealthCheck("/health")
    .WithInfrastructure(infrastructure)
    .WithModelSettings(models)
    .WaitFor(api);

builder.AddProject<Projects.PersonaGym_AgentRunner>("agent-runner")
    .WithHttpHealthCheck("/health")
    .WithInfrastructure(infrastructure)
    .WithModelSettings(models)
    .WaitFor(api);

builder.AddProject<Projects.PersonaGym_Judge>("judge")
    .WithReplicas(judgeReplicas)
    .WithHttpHealthCheck("/health")
    .WithInfrastructure(infrastructure)
    .WithModelSettings(models)
    .WaitFor(api);

// The web app: a client of the Api only (service discovery), as the dashboard's link for people.
builder.AddProject<Projects.PersonaGym_Web>("web")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithReference(api)
    .WaitFor(api);

builder.Build().Run();
