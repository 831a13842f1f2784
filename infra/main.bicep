// PersonaGym on Azure Container Apps: what the AppHost runs locally (docs/running.md), with a managed
// PostgreSQL in place of the container and the judge scale rule the Aspire manifest cannot express.
//
//   Log Analytics + Container Apps environment        modules/environment.bicep
//   PostgreSQL Flexible Server, database personagym    modules/postgres.bicep
//   RabbitMQ container app (internal TCP 5672)         modules/rabbitmq.bicep
//   api, question-generator, agent-runner, judge       modules/service-app.bicep
//
// Deploy into an existing resource group: az deployment group create -g <group> -f infra/main.bicep ...
// (docs/deployment.md).

targetScope = 'resourceGroup'

@minLength(1)
@maxLength(20)
@description('Short name of this deployment (azd: AZURE_ENV_NAME), used in resource names. Lowercase letters, digits, hyphens.')
param environmentName string

@description('Azure region; empty means the resource group\'s region.')
param location string = ''

// ---- Images ---------------------------------------------------------------------------------------

@description('Name of an Azure Container Registry in this resource group holding the service images; empty when the images need no credentials.')
param registryName string = ''

@description('Image of PersonaGym.Api, e.g. myregistry.azurecr.io/personagym-api:1.0.0.')
param apiImage string

@description('Image of PersonaGym.QuestionGenerator.')
param questionGeneratorImage string

@description('Image of PersonaGym.AgentRunner.')
param agentRunnerImage string

@description('Image of PersonaGym.Judge.')
param judgeImage string

@description('RabbitMQ image (with the management plugin, as the AppHost uses).')
param rabbitmqImage string = 'rabbitmq:3-management'

// ---- PostgreSQL -----------------------------------------------------------------------------------

@allowed([
  '15'
  '16'
])
param postgresVersion string = '16'

param postgresSkuName string = 'Standard_B1ms'

@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param postgresSkuTier string = 'Burstable'

param postgresStorageSizeGB int = 32

param postgresAdminLogin string = 'personagym'

@secure()
@description('PostgreSQL administrator password. Avoid ; and " (it goes into an Npgsql connection string unquoted).')
param postgresAdminPassword string

// ---- RabbitMQ -------------------------------------------------------------------------------------

param rabbitmqUser string = 'personagym'

@secure()
@description('RabbitMQ password (URI-escaped where it goes into amqp:// URIs).')
param rabbitmqPassword string

// ---- Models and keys (empty = the AppHost's offline default) ---------------------------------------

@description('Model spec of the question writer, e.g. openai:gpt-4o. Empty: offline:question-writer.')
param questionWriterModel string = ''

@description('Model spec of the exemplar writer. Empty: offline:exemplar-writer.')
param exemplarWriterModel string = ''

@description('Comma-separated judge model specs. Empty: offline:judge-a,offline:judge-b.')
param judgeModels string = ''

@description('Default models under test for runs that name none. Empty: offline:agent.')
param agentModels string = ''

@secure()
@description('OPENAI_API_KEY; empty leaves the variable out.')
param openAiApiKey string = ''

@secure()
@description('ANTHROPIC_API_KEY; empty leaves the variable out.')
param anthropicApiKey string = ''

@secure()
@description('AZURE_OPENAI_API_KEY; empty leaves the variable out.')
param azureOpenAiApiKey string = ''

// ---- Replicas -------------------------------------------------------------------------------------

param apiMinReplicas int = 1
param apiMaxReplicas int = 3

param questionGeneratorMinReplicas int = 1
param questionGeneratorMaxReplicas int = 1

param agentRunnerMinReplicas int = 1
param agentRunnerMaxReplicas int = 1

@description('Judges scale to zero when the judge queue is empty.')
param judgeMinReplicas int = 0

@description('Upper bound of judge replicas (and so of concurrent judge calls to the providers).')
param judgeMaxReplicas int = 10

@description('Waiting batches on the judge queue per judge replica (KEDA QueueLength target).')
param judgeQueueLength int = 10

// ---- Derived values -------------------------------------------------------------------------------

var effectiveLocation = empty(location) ? resourceGroup().location : location
var deploymentName = toLower(environmentName)
var resourceToken = uniqueString(subscription().id, resourceGroup().id, deploymentName)

// The queue the judges consume: the endpoint name fixed in PersonaGym.Contracts.
var judgeQueueName = 'judge'

var models = {
  questionWriter: empty(questionWriterModel) ? 'offline:question-writer' : questionWriterModel
  exemplarWriter: empty(exemplarWriterModel) ? 'offline:exemplar-writer' : exemplarWriterModel
  judges: empty(judgeModels) ? 'offline:judge-a,offline:judge-b' : judgeModels
  agents: empty(agentModels) ? 'offline:agent' : agentModels
}

var registryServer = empty(registryName) ? '' : '${registryName}${environment().suffixes.acrLoginServer}'

// Built-in role "AcrPull".
var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

// ---- Resources ------------------------------------------------------------------------------------

module containerEnvironment 'modules/environment.bicep' = {
  name: 'environment'
  params: {
    location: effectiveLocation
    environmentName: deploymentName
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: effectiveLocation
    serverName: 'psql-${deploymentName}-${resourceToken}'
    version: postgresVersion
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageSizeGB
    administratorLogin: postgresAdminLogin
    administratorPassword: postgresAdminPassword
  }
}

module rabbitmq 'modules/rabbitmq.bicep' = {
  name: 'rabbitmq'
  params: {
    location: effectiveLocation
    environmentId: containerEnvironment.outputs.environmentId
    image: rabbitmqImage
    userName: rabbitmqUser
    password: rabbitmqPassword
  }
}

// The identity the apps pull their images with, so no registry password is stored anywhere.
resource pullIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${deploymentName}'
  location: effectiveLocation
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(registryName)) {
  name: registryName
}

resource registryPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(registryName)) {
  name: guid(resourceGroup().id, registryName, pullIdentity.id, acrPullRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: pullIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Same shape as the AppHost's connection strings; Flexible Server requires TLS.
var databaseConnectionString = 'Host=${postgres.outputs.fullyQualifiedDomainName};Port=5432;Database=${postgres.outputs.databaseName};Username=${postgresAdminLogin};Password=${postgresAdminPassword};SSL Mode=Require'
var messagingConnectionString = 'amqp://${uriComponent(rabbitmqUser)}:${uriComponent(rabbitmqPassword)}@${rabbitmq.outputs.hostName}:5672/'

// KEDA reads the queue length from the broker itself. It gets the broker's internal FQDN rather than
// the short app name, and the vhost as the rule's vhostName (see modules/service-app.bicep).
var scalerHost = 'amqp://${uriComponent(rabbitmqUser)}:${uriComponent(rabbitmqPassword)}@${rabbitmq.outputs.internalFqdn}:5672'

var sharedServiceSettings = {
  location: effectiveLocation
  environmentId: containerEnvironment.outputs.environmentId
  registryServer: registryServer
  registryIdentityId: empty(registryName) ? '' : pullIdentity.id
  models: models
}

// The Api owns the schema (migrations at start) and is the only app reachable from outside.
module api 'modules/service-app.bicep' = {
  name: 'app-api'
  dependsOn: [
    registryPull
  ]
  params: {
    name: 'api'
    location: sharedServiceSettings.location
    environmentId: sharedServiceSettings.environmentId
    registryServer: sharedServiceSettings.registryServer
    registryIdentityId: sharedServiceSettings.registryIdentityId
    image: apiImage
    ingressMode: 'external'
    minReplicas: apiMinReplicas
    maxReplicas: apiMaxReplicas
    databaseConnectionString: databaseConnectionString
    messagingConnectionString: messagingConnectionString
    models: sharedServiceSettings.models
    openAiApiKey: openAiApiKey
    anthropicApiKey: anthropicApiKey
    azureOpenAiApiKey: azureOpenAiApiKey
  }
}

module questionGenerator 'modules/service-app.bicep' = {
  name: 'app-question-generator'
  dependsOn: [
    registryPull
    api
  ]
  params: {
    name: 'question-generator'
    location: sharedServiceSettings.location
    environmentId: sharedServiceSettings.environmentId
    registryServer: sharedServiceSettings.registryServer
    registryIdentityId: sharedServiceSettings.registryIdentityId
    image: questionGeneratorImage
    minReplicas: questionGeneratorMinReplicas
    maxReplicas: questionGeneratorMaxReplicas
    databaseConnectionString: databaseConnectionString
    messagingConnectionString: messagingConnectionString
    models: sharedServiceSettings.models
    openAiApiKey: openAiApiKey
    anthropicApiKey: anthropicApiKey
    azureOpenAiApiKey: azureOpenAiApiKey
  }
}

module agentRunner 'modules/service-app.bicep' = {
  name: 'app-agent-runner'
  dependsOn: [
    registryPull
    api
  ]
  params: {
    name: 'agent-runner'
    location: sharedServiceSettings.location
    environmentId: sharedServiceSettings.environmentId
    registryServer: sharedServiceSettings.registryServer
    registryIdentityId: sharedServiceSettings.registryIdentityId
    image: agentRunnerImage
    minReplicas: agentRunnerMinReplicas
    maxReplicas: agentRunnerMaxReplicas
    databaseConnectionString: databaseConnectionString
    messagingConnectionString: messagingConnectionString
    models: sharedServiceSettings.models
    openAiApiKey: openAiApiKey
    anthropicApiKey: anthropicApiKey
    azureOpenAiApiKey: azureOpenAiApiKey
  }
}

// Judging is the bulk of the work (exemplars plus every judge model per batch): 0..N replicas that
// follow the length of the judge queue.
module judge 'modules/service-app.bicep' = {
  name: 'app-judge'
  dependsOn: [
    registryPull
    api
  ]
  params: {
    name: 'judge'
    location: sharedServiceSettings.location
    environmentId: sharedServiceSettings.environmentId
    registryServer: sharedServiceSettings.registryServer
    registryIdentityId: sharedServiceSettings.registryIdentityId
    image: judgeImage
    minReplicas: judgeMinReplicas
    maxReplicas: judgeMaxReplicas
    scaleQueueName: judgeQueueName
    scaleQueueLength: judgeQueueLength
    scalerHost: scalerHost
    databaseConnectionString: databaseConnectionString
    messagingConnectionString: messagingConnectionString
    models: sharedServiceSettings.models
    openAiApiKey: openAiApiKey
    anthropicApiKey: anthropicApiKey
    azureOpenAiApiKey: azureOpenAiApiKey
  }
}

// ---- Outputs (no secrets) -------------------------------------------------------------------------

@description('Public address of the Api: use it with the CLI\'s --server.')
output apiUrl string = 'https://${api.outputs.fqdn}'

output containerAppsEnvironmentName string = containerEnvironment.outputs.environmentName
output logAnalyticsWorkspaceName string = containerEnvironment.outputs.logAnalyticsWorkspaceName
output postgresHost string = postgres.outputs.fullyQualifiedDomainName
output postgresServerName string = postgres.outputs.serverName
output rabbitmqHost string = rabbitmq.outputs.hostName
