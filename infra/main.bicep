// PersonaGym on Azure Container Apps, part 1 of 2: everything the five services need, provisioned by `azd provision`
// (or `az deployment group create -f infra/main.bicep`). Part 2 is one small deployment per service, run once its
// image is pushed: infra/api.bicep, question-generator.bicep, agent-runner.bicep, judge.bicep, web.bicep (azd runs
// them at `azd deploy`, see azure.yaml). Every value those need is an output below, and every setting has its home here.
//
//   Log Analytics, Container Apps environment, registry, identity   modules/environment.bicep
//   Key Vault with every secret the apps read                       modules/keyvault.bicep
//   PostgreSQL Flexible Server, database personagym                 modules/postgres.bicep
//   RabbitMQ container app (internal TCP 5672, disposable state)    modules/rabbitmq.bicep
//
// How to deploy: docs/deployment.md.

targetScope = 'resourceGroup'

@minLength(1)
@maxLength(20)
@description('Short name of this deployment (azd: AZURE_ENV_NAME), used in resource names. Lowercase letters, digits, hyphens.')
param environmentName string

@description('Azure region; empty means the resource group\'s region.')
param location string = ''

@description('RabbitMQ image: the AppHost\'s (Aspire.Hosting.RabbitMQ 13.6, management plugin); a test keeps the two equal.')
param rabbitmqImage string = 'docker.io/library/rabbitmq:4.3-management'

// ---- PostgreSQL -----------------------------------------------------------------------------------

@allowed([
  '15'
  '16'
])
param postgresVersion string = '16'

@description('Compute size. Standard_B2s (Burstable, 2 vCores, 4 GiB) allows 429 connections; Standard_B1ms allows 50, too few for the default replica maxima.')
param postgresSkuName string = 'Standard_B2s'

@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param postgresSkuTier string = 'Burstable'

param postgresStorageSizeGB int = 32

@description('The server\'s max_connections when the SKU is not in the table below (0: take it from the table).')
param postgresMaxConnections int = 0

@description('Connections kept free for people and tools (psql, the migration of a new Api revision while the old one runs).')
param postgresSpareConnections int = 10

param postgresAdminLogin string = 'personagym'

@secure()
@description('PostgreSQL password administrator\'s password, for people only (break-glass psql): no app is given it; the services and the migration step log in with Microsoft Entra tokens.')
param postgresAdminPassword string

// ---- RabbitMQ -------------------------------------------------------------------------------------

param rabbitmqUser string = 'personagym'

@secure()
@description('RabbitMQ password. Letters and digits only keep it valid inside the amqp:// URIs built from it.')
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

// ---- Api access -----------------------------------------------------------------------------------

@description('Microsoft Entra tenant of the Api\'s app registration; empty: the subscription\'s tenant.')
param apiEntraTenantId string = ''

@description('Application (client) id of the Api\'s app registration; empty: no Entra ID sign-in, Api keys only.')
param apiEntraClientId string = ''

@description('Audience the Api accepts in tokens, e.g. api://<client id>; empty: the library\'s default for the client id.')
param apiEntraAudience string = ''

@secure()
@description('First operator Api key, created at the Api\'s start when set (PersonaGym:Auth:BootstrapKey); empty: none.')
param apiBootstrapKey string = ''

// ---- Web app sign-in (Entra ID; without a client id people sign in with an Api key) -----------------

@description('Microsoft Entra tenant of the web app\'s app registration; empty: the subscription\'s tenant.')
param webEntraTenantId string = ''

@description('Application (client) id of the web app\'s own app registration (not the Api\'s); empty: Api-key sign-in only.')
param webEntraClientId string = ''

@secure()
@description('Client secret of the web app\'s app registration, stored in the vault; needed with webEntraClientId.')
param webEntraClientSecret string = ''

@description('The Api\'s delegated scope the web app asks for, e.g. api://<Api client id>/access_as_user; needed with webEntraClientId.')
param webApiScopes string = ''

// ---- Replicas and scale rules ---------------------------------------------------------------------
// Minimum 1 for every worker: a scale rule that cannot see its queue never starts a replica from zero, and work
// would wait unseen. Lower a minimum to 0 only after the post-deployment check in docs/deployment.md.

param apiMinReplicas int = 1
param apiMaxReplicas int = 2

param questionGeneratorMinReplicas int = 1
param questionGeneratorMaxReplicas int = 2
@description('Waiting messages on the question-generator queue per replica (KEDA QueueLength target).')
param questionGeneratorQueueLength int = 10

param agentRunnerMinReplicas int = 1
param agentRunnerMaxReplicas int = 3
@description('Waiting messages on the agent-runner queue per replica.')
param agentRunnerQueueLength int = 20

param judgeMinReplicas int = 1
@description('Upper bound of judge replicas (and so of concurrent judge calls to the providers).')
param judgeMaxReplicas int = 10
@description('Waiting batches on the judge queue per judge replica.')
param judgeQueueLength int = 10

@description('Fewest connections one replica\'s pool may get: the default concurrency of a stage (16 messages at once).')
param minimumPoolSize int = 16

// ---- Derived values -------------------------------------------------------------------------------

var effectiveLocation = empty(location) ? resourceGroup().location : location
var deploymentName = toLower(environmentName)
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, deploymentName))
var tags = {
  'azd-env-name': environmentName
}

var models = {
  questionWriter: empty(questionWriterModel) ? 'offline:question-writer' : questionWriterModel
  exemplarWriter: empty(exemplarWriterModel) ? 'offline:exemplar-writer' : exemplarWriterModel
  judges: empty(judgeModels) ? 'offline:judge-a,offline:judge-b' : judgeModels
  agents: empty(agentModels) ? 'offline:agent' : agentModels
}

// Connections: every replica of every service has its own Npgsql pool, so the pools' sum at the replica maxima
// must fit the server. max_connections by SKU is Azure's default for Flexible Server; Azure keeps 15 of them for
// replication and monitoring.
var maxConnectionsBySku = {
  Standard_B1ms: 50
  Standard_B2s: 429
  Standard_B2ms: 859
  Standard_B4ms: 1718
  Standard_B8ms: 3437
  Standard_D2s_v3: 859
  Standard_D4s_v3: 1718
  Standard_D2ds_v4: 859
  Standard_D4ds_v4: 1718
  Standard_D2ds_v5: 859
  Standard_D4ds_v5: 1718
  Standard_E2ds_v5: 1718
  Standard_E4ds_v5: 3437
}
var azureReservedConnections = 15
var serverConnections = postgresMaxConnections > 0
  ? postgresMaxConnections
  : maxConnectionsBySku[?postgresSkuName] ?? fail('PostgreSQL SKU ${postgresSkuName} is not in the connection table of infra/main.bicep: set postgresMaxConnections to its max_connections.')
var replicaMaxima = apiMaxReplicas + questionGeneratorMaxReplicas + agentRunnerMaxReplicas + judgeMaxReplicas
var connectionsForPools = serverConnections - azureReservedConnections - postgresSpareConnections
var poolShare = connectionsForPools / replicaMaxima
// More than Npgsql's default of 100 per replica buys nothing; fewer than minimumPoolSize starves a stage.
var maxPoolSize = poolShare < minimumPoolSize
  ? fail('PostgreSQL ${postgresSkuName} leaves ${connectionsForPools} connections for ${replicaMaxima} replicas at most (api ${apiMaxReplicas}, question-generator ${questionGeneratorMaxReplicas}, agent-runner ${agentRunnerMaxReplicas}, judge ${judgeMaxReplicas}): ${poolShare} each, below minimumPoolSize ${minimumPoolSize}. Choose a larger postgresSkuName or lower the replica maxima.')
  : min(poolShare, 100)

var keyVaultName = 'kv-${take(resourceToken, 13)}'
var registryName = 'cr${resourceToken}'

// ---- Resources ------------------------------------------------------------------------------------

module platform 'modules/environment.bicep' = {
  name: 'environment'
  params: {
    location: effectiveLocation
    tags: tags
    environmentName: deploymentName
    registryName: registryName
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: effectiveLocation
    tags: tags
    serverName: 'psql-${deploymentName}-${resourceToken}'
    version: postgresVersion
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageSizeGB
    administratorLogin: postgresAdminLogin
    administratorPassword: postgresAdminPassword
    entraAdministratorPrincipalId: platform.outputs.migrationIdentityPrincipalId
    entraAdministratorName: platform.outputs.migrationIdentityName
  }
}

// The broker's address inside the environment: the app's name for the services, the ingress FQDN for KEDA
// (whose scalers do not run inside the environment's DNS search domain).
var rabbitmqAppName = 'rabbitmq'
var rabbitmqHost = rabbitmqAppName
var rabbitmqInternalFqdn = '${rabbitmqAppName}.internal.${platform.outputs.defaultDomain}'

// Same shape as the AppHost's connection strings, plus the pool bound; Flexible Server requires TLS. No password: the
// services log in as the apps' identity with an Entra token (PersonaGym__Database__Authentication, service-app.bicep).
var databaseConnectionString = 'Host=${postgres.outputs.fullyQualifiedDomainName};Port=5432;Database=${postgres.outputs.databaseName};Username=${platform.outputs.identityName};SSL Mode=Require;Maximum Pool Size=${maxPoolSize}'
var messagingConnectionString = 'amqp://${uriComponent(rabbitmqUser)}:${uriComponent(rabbitmqPassword)}@${rabbitmqHost}:5672/'
var scalerHost = 'amqp://${uriComponent(rabbitmqUser)}:${uriComponent(rabbitmqPassword)}@${rabbitmqInternalFqdn}:5672/'

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: effectiveLocation
    tags: tags
    vaultName: keyVaultName
    readerPrincipalId: platform.outputs.identityPrincipalId
    secretNames: [
      'personagym-connection-string'
      'rabbitmq-connection-string'
      'rabbitmq-password'
      'rabbitmq-scaler-host'
      'openai-api-key'
      'anthropic-api-key'
      'azure-openai-api-key'
      'api-bootstrap-key'
      'web-entra-client-secret'
    ]
    secrets: {
      'personagym-connection-string': databaseConnectionString
      'rabbitmq-connection-string': messagingConnectionString
      'rabbitmq-password': rabbitmqPassword
      'rabbitmq-scaler-host': scalerHost
      'openai-api-key': openAiApiKey
      'anthropic-api-key': anthropicApiKey
      'azure-openai-api-key': azureOpenAiApiKey
      'api-bootstrap-key': apiBootstrapKey
      'web-entra-client-secret': webEntraClientSecret
    }
  }
}

// Which optional secrets exist: the apps reference only those (a reference to a missing secret fails the revision).
var optionalSecretNames = join(filter([
  empty(openAiApiKey) ? '' : 'openai-api-key'
  empty(anthropicApiKey) ? '' : 'anthropic-api-key'
  empty(azureOpenAiApiKey) ? '' : 'azure-openai-api-key'
  empty(apiBootstrapKey) ? '' : 'api-bootstrap-key'
  empty(webEntraClientSecret) ? '' : 'web-entra-client-secret'
], name => !empty(name)), ',')

module rabbitmq 'modules/rabbitmq.bicep' = {
  name: 'rabbitmq'
  params: {
    location: effectiveLocation
    tags: tags
    name: rabbitmqAppName
    environmentId: platform.outputs.environmentId
    image: rabbitmqImage
    userName: rabbitmqUser
    passwordSecretUri: '${vault.outputs.vaultUri}secrets/rabbitmq-password'
    identityId: platform.outputs.identityId
  }
}

// ---- Outputs: what the per-service deployments read (azd stores them in the environment). No secrets. ----

output AZURE_CONTAINER_REGISTRY_ENDPOINT string = platform.outputs.registryLoginServer
output AZURE_CONTAINER_REGISTRY_NAME string = platform.outputs.registryName
output AZURE_CONTAINER_APPS_ENVIRONMENT_ID string = platform.outputs.environmentId
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = platform.outputs.environmentName
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = platform.outputs.logAnalyticsWorkspaceName

output PERSONAGYM_LOCATION string = effectiveLocation
output PERSONAGYM_IDENTITY_ID string = platform.outputs.identityId
output PERSONAGYM_IDENTITY_CLIENT_ID string = platform.outputs.identityClientId
output PERSONAGYM_KEY_VAULT_URI string = vault.outputs.vaultUri
output PERSONAGYM_KEY_VAULT_NAME string = vault.outputs.vaultName
output PERSONAGYM_OPTIONAL_VAULT_ENTRIES string = optionalSecretNames
output PERSONAGYM_POSTGRES_HOST string = postgres.outputs.fullyQualifiedDomainName
output PERSONAGYM_POSTGRES_SERVER_NAME string = postgres.outputs.serverName
output PERSONAGYM_POSTGRES_DATABASE string = postgres.outputs.databaseName
output PERSONAGYM_IDENTITY_NAME string = platform.outputs.identityName
output PERSONAGYM_MIGRATION_IDENTITY_ID string = platform.outputs.migrationIdentityId
output PERSONAGYM_MIGRATION_IDENTITY_CLIENT_ID string = platform.outputs.migrationIdentityClientId
output PERSONAGYM_MIGRATION_IDENTITY_NAME string = platform.outputs.migrationIdentityName
output PERSONAGYM_MAX_POOL_SIZE int = maxPoolSize
output PERSONAGYM_RABBITMQ_HOST string = rabbitmq.outputs.hostName

output PERSONAGYM_MODEL_QUESTION_WRITER string = models.questionWriter
output PERSONAGYM_MODEL_EXEMPLAR_WRITER string = models.exemplarWriter
output PERSONAGYM_MODEL_JUDGES string = models.judges
output PERSONAGYM_MODEL_AGENTS string = models.agents

output PERSONAGYM_ENTRA_TENANT_ID string = empty(apiEntraClientId) ? '' : (empty(apiEntraTenantId) ? tenant().tenantId : apiEntraTenantId)
output PERSONAGYM_ENTRA_CLIENT_ID string = apiEntraClientId
output PERSONAGYM_ENTRA_AUDIENCE string = apiEntraAudience
output PERSONAGYM_ENTRA_INSTANCE string = environment().authentication.loginEndpoint

output PERSONAGYM_WEB_ENTRA_TENANT_ID string = empty(webEntraClientId) ? '' : (empty(webEntraTenantId) ? tenant().tenantId : webEntraTenantId)
output PERSONAGYM_WEB_ENTRA_CLIENT_ID string = webEntraClientId
output PERSONAGYM_WEB_API_SCOPES string = webApiScopes

@description('The Api\'s public address (an external app\'s FQDN is <app name>.<the environment\'s default domain>): the web app\'s backend, the CLI\'s --server.')
output PERSONAGYM_API_URL string = 'https://api.${platform.outputs.defaultDomain}'

output PERSONAGYM_API_MIN_REPLICAS int = apiMinReplicas
output PERSONAGYM_API_MAX_REPLICAS int = apiMaxReplicas
output PERSONAGYM_QUESTION_GENERATOR_MIN_REPLICAS int = questionGeneratorMinReplicas
output PERSONAGYM_QUESTION_GENERATOR_MAX_REPLICAS int = questionGeneratorMaxReplicas
output PERSONAGYM_QUESTION_GENERATOR_QUEUE_LENGTH int = questionGeneratorQueueLength
output PERSONAGYM_AGENT_RUNNER_MIN_REPLICAS int = agentRunnerMinReplicas
output PERSONAGYM_AGENT_RUNNER_MAX_REPLICAS int = agentRunnerMaxReplicas
output PERSONAGYM_AGENT_RUNNER_QUEUE_LENGTH int = agentRunnerQueueLength
output PERSONAGYM_JUDGE_MIN_REPLICAS int = judgeMinReplicas
output PERSONAGYM_JUDGE_MAX_REPLICAS int = judgeMaxReplicas
output PERSONAGYM_JUDGE_QUEUE_LENGTH int = judgeQueueLength
