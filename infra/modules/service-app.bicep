// One PersonaGym service (api, question-generator, agent-runner, judge or web) as a container app. Every pipeline
// service gets the environment the AppHost gives it locally (docs/running.md): the two connection strings, the four
// model specs and whichever provider keys are set. Connection strings and keys are Key Vault references read with the
// user-assigned identity, which also pulls the image. The web app is no pipeline service (no `models`): it reaches only
// the Api, so it gets none of them.

@description('Azure region.')
param location string

param tags object = {}

@description('Container app name, the AppHost resource name: api, question-generator, agent-runner, judge or web.')
param name string

param environmentId string

@description('Image published with `dotnet publish -t:PublishContainer`, e.g. <registry>/personagym-judge:1.0.0.')
param image string

@description('Login server of the registry holding the image.')
param registryServer string

@description('User-assigned identity with AcrPull on the registry and Key Vault Secrets User on the vault.')
param identityId string

@description('Client id of that identity: the services log in to PostgreSQL as it, with an Entra token as the password.')
param identityClientId string

@description('Further user-assigned identities of the app (the Api\'s migration step), by resource id.')
param additionalIdentityIds array = []

@description('Containers run to completion before the app\'s container starts (the Api\'s migration step).')
param initContainers array = []

@description('Vault URI (https://<vault>.vault.azure.net/).')
param keyVaultUri string

@description('Names of the optional secrets stored in the vault (provider keys that are set), comma-separated.')
param optionalSecretNames string = ''

@description('Port the service listens on (the .NET container images default to 8080).')
param targetPort int = 8080

@description('HTTP ingress: "external" (public: the Api, the web app) or "none" (the workers take no HTTP traffic).')
@allowed([
  'external'
  'none'
])
param ingressMode string = 'none'

@description('Send each browser back to the replica it started on (a Blazor Server circuit lives in one replica).')
param stickySessions bool = false

param minReplicas int = 1
param maxReplicas int = 1

@description('CPU cores (as a string, Bicep has no decimal literals) and memory, a valid Consumption pair such as 0.5 / 1Gi.')
param cpu string = '0.5'
param memory string = '1Gi'

@description('Model specs by role (docs/running.md): questionWriter, exemplarWriter, judges, agents. Null for an app outside the pipeline (the web app): no database, broker, models or provider keys.')
param models {
  questionWriter: string
  exemplarWriter: string
  judges: string
  agents: string
}?

@description('Further plain settings, name to value (e.g. the Api\'s Entra ID settings).')
param settings object = {}

@description('Further vault secrets the app reads, vault secret name to environment variable (names only, no values).')
param vaultReferences object = {}

@description('Queue whose length scales this app (KEDA rabbitmq rule); empty for a fixed replica range.')
param scaleQueueName string = ''

@description('Waiting messages per replica the scale rule aims at.')
param scaleQueueLength int = 10

var pipelineService = models != null

// The vault's secrets every pipeline service reads, and the environment variable each one becomes.
var connectionSecrets = pipelineService ? {
  'personagym-connection-string': 'ConnectionStrings__personagym'
  'rabbitmq-connection-string': 'ConnectionStrings__rabbitmq'
} : {}

// Provider keys: only those stored (Container Apps refuses a reference to a secret that does not exist), as the
// AppHost leaves out a key parameter that is not configured.
var providerKeyVariables = {
  'openai-api-key': 'OPENAI_API_KEY'
  'anthropic-api-key': 'ANTHROPIC_API_KEY'
  'azure-openai-api-key': 'AZURE_OPENAI_API_KEY'
}
var storedOptionalSecrets = empty(optionalSecretNames) || !pipelineService ? [] : split(optionalSecretNames, ',')
var providerKeys = toObject(
  filter(items(providerKeyVariables), key => contains(storedOptionalSecrets, key.key)),
  key => key.key,
  key => key.value
)

var scalesOnQueue = !empty(scaleQueueName)

// KEDA reads the queue length from the broker with the address in this secret (see the scale rule below).
var scalerSecret = scalesOnQueue ? { 'rabbitmq-scaler-host': '' } : {}

var vaultSecrets = union(connectionSecrets, providerKeys, vaultReferences, scalerSecret)

var secrets = map(items(vaultSecrets), secret => {
  name: secret.key
  keyVaultUrl: '${keyVaultUri}secrets/${secret.key}'
  identity: identityId
})

var secretEnvironment = map(filter(items(vaultSecrets), secret => !empty(secret.value)), secret => {
  name: secret.value
  secretRef: secret.key
})

var pipelineSettings = pipelineService ? {
  // The connection string names the identity's role and has no password (DatabaseAuthentication in PersonaGym.Hosting).
  PersonaGym__Database__Authentication: 'EntraManagedIdentity'
  PersonaGym__Database__ClientId: identityClientId
  PersonaGym__Models__QuestionWriter: models!.questionWriter
  PersonaGym__Models__ExemplarWriter: models!.exemplarWriter
  PersonaGym__Models__Judges: models!.judges
  PersonaGym__Models__Agents: models!.agents
} : {}

var plainSettings = union(pipelineSettings, {
  ASPNETCORE_HTTP_PORTS: string(targetPort)
}, settings)

var plainEnvironment = map(items(plainSettings), setting => {
  name: setting.key
  value: setting.value
})

// KEDA's rabbitmq scaler, as Container Apps exposes it: a custom rule whose `host` comes from a secret.
// QueueLength mode asks for ceil(waiting messages / value) replicas, between min and max.
var queueScaleRules = scalesOnQueue ? [
  {
    name: '${scaleQueueName}-queue-length'
    custom: {
      type: 'rabbitmq'
      metadata: {
        queueName: scaleQueueName
        mode: 'QueueLength'
        value: string(scaleQueueLength)
        protocol: 'amqp'
        vhostName: '/'
      }
      auth: [
        {
          secretRef: 'rabbitmq-scaler-host'
          triggerParameter: 'host'
        }
      ]
    }
  }
] : []

var ingress = ingressMode == 'none' ? null : union({
  external: true
  targetPort: targetPort
  transport: 'auto'
  allowInsecure: false
}, stickySessions ? {
  stickySessions: {
    affinity: 'sticky'
  }
} : {})

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': name })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: toObject(concat([identityId], additionalIdentityIds), id => id, id => {})
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: ingress
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: secrets
    }
    template: {
      initContainers: empty(initContainers) ? null : initContainers
      containers: [
        {
          name: name
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: concat(plainEnvironment, secretEnvironment)
          // ServiceDefaults maps /alive (the process answers) and /health (every check, database and
          // broker included, passes) in every environment, for exactly these probes. Probes reach the
          // container port directly, so the workers need no ingress for them.
          probes: [
            {
              // Allow up to 110 s to start (the Api checks the schema before it serves anything).
              type: 'Startup'
              httpGet: {
                path: '/alive'
                port: targetPort
              }
              initialDelaySeconds: 10
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/alive'
                port: targetPort
              }
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/health'
                port: targetPort
              }
              periodSeconds: 15
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: queueScaleRules
      }
    }
  }
}

output name string = app.name

@description('Ingress FQDN; empty for an app without ingress.')
output fqdn string = app.properties.configuration.?ingress.?fqdn ?? ''
