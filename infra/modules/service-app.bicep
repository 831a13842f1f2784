// One PersonaGym service (api, question-generator, agent-runner or judge) as a container app. Every
// service gets the same environment the AppHost gives it locally (docs/running.md): the two connection
// strings, the four model specs and whichever provider keys are set, the connection strings and keys
// as Container Apps secrets.

@description('Azure region.')
param location string

@description('Container app name, the AppHost resource name: api, question-generator, agent-runner or judge.')
param name string

param environmentId string

@description('Image published with `dotnet publish -t:PublishContainer`, e.g. myregistry.azurecr.io/personagym-judge:1.0.0.')
param image string

@description('Registry login server the image comes from; empty for a registry that needs no credentials.')
param registryServer string = ''

@description('User-assigned identity with AcrPull on that registry; empty when registryServer is empty.')
param registryIdentityId string = ''

@description('Port the service listens on (the .NET container images default to 8080).')
param targetPort int = 8080

@description('HTTP ingress: "external" (public), "internal" (inside the environment) or "none". Workers take no HTTP traffic.')
@allowed([
  'external'
  'internal'
  'none'
])
param ingressMode string = 'none'

param minReplicas int = 1
param maxReplicas int = 1

@description('CPU cores (as a string, Bicep has no decimal literals) and memory, a valid Consumption pair such as 0.5 / 1Gi.')
param cpu string = '0.5'
param memory string = '1Gi'

@secure()
@description('Npgsql connection string of the personagym database.')
param databaseConnectionString string

@secure()
@description('amqp:// URI of the broker.')
param messagingConnectionString string

@description('Model specs by role (docs/running.md): questionWriter, exemplarWriter, judges, agents.')
param models {
  questionWriter: string
  exemplarWriter: string
  judges: string
  agents: string
}

@secure()
param openAiApiKey string = ''

@secure()
param anthropicApiKey string = ''

@secure()
param azureOpenAiApiKey string = ''

@description('Queue whose length scales this app (KEDA rabbitmq rule); empty for a fixed replica range.')
param scaleQueueName string = ''

@description('Waiting messages per replica the scale rule aims at.')
param scaleQueueLength int = 10

@secure()
@description('amqp:// URI KEDA uses to read the queue length; required when scaleQueueName is set.')
param scalerHost string = ''

// Container Apps refuses empty secret values, so a key that is not set is left out entirely, as the
// AppHost leaves out a key parameter that is not configured.
var providerKeys = filter([
  {
    secretName: 'openai-api-key'
    environmentVariable: 'OPENAI_API_KEY'
    value: openAiApiKey
  }
  {
    secretName: 'anthropic-api-key'
    environmentVariable: 'ANTHROPIC_API_KEY'
    value: anthropicApiKey
  }
  {
    secretName: 'azure-openai-api-key'
    environmentVariable: 'AZURE_OPENAI_API_KEY'
    value: azureOpenAiApiKey
  }
], key => !empty(key.value))

var scalesOnQueue = !empty(scaleQueueName)

var connectionSecrets = [
  {
    name: 'personagym-connection-string'
    value: databaseConnectionString
  }
  {
    name: 'rabbitmq-connection-string'
    value: messagingConnectionString
  }
]

var providerKeySecrets = map(providerKeys, key => {
  name: key.secretName
  value: key.value
})

var scalerSecrets = scalesOnQueue ? [
  {
    name: 'rabbitmq-scaler-host'
    value: scalerHost
  }
] : []

var secrets = concat(connectionSecrets, providerKeySecrets, scalerSecrets)

var settingsVariables = [
  {
    name: 'ConnectionStrings__personagym'
    secretRef: 'personagym-connection-string'
  }
  {
    name: 'ConnectionStrings__rabbitmq'
    secretRef: 'rabbitmq-connection-string'
  }
  {
    name: 'PersonaGym__Models__QuestionWriter'
    value: models.questionWriter
  }
  {
    name: 'PersonaGym__Models__ExemplarWriter'
    value: models.exemplarWriter
  }
  {
    name: 'PersonaGym__Models__Judges'
    value: models.judges
  }
  {
    name: 'PersonaGym__Models__Agents'
    value: models.agents
  }
  {
    name: 'ASPNETCORE_HTTP_PORTS'
    value: string(targetPort)
  }
]

var providerKeyVariables = map(providerKeys, key => {
  name: key.environmentVariable
  secretRef: key.secretName
})

var environmentVariables = concat(settingsVariables, providerKeyVariables)

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

var appIdentity = empty(registryIdentityId) ? {
  type: 'None'
} : {
  type: 'UserAssigned'
  userAssignedIdentities: {
    '${registryIdentityId}': {}
  }
}

var ingress = ingressMode == 'none' ? null : {
  external: ingressMode == 'external'
  targetPort: targetPort
  transport: 'auto'
  allowInsecure: false
}

var registries = empty(registryServer) ? [] : [
  {
    server: registryServer
    identity: registryIdentityId
  }
]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  identity: appIdentity
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: ingress
      registries: registries
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: name
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: environmentVariables
          // ServiceDefaults maps /alive (the process answers) and /health (every check, database and
          // broker included, passes) in every environment, for exactly these probes. Probes reach the
          // container port directly, so the workers need no ingress for them.
          probes: [
            {
              // The Api applies migrations before it serves anything: allow it up to 110 s to start.
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
