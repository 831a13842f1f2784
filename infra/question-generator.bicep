// The question-generator worker: no ingress, scaled on the length of its queue.
// Deployed after infra/main.bicep, once the image is in the registry: `azd deploy question-generator` runs this file with
// question-generator.parameters.json filled from the azd environment (main.bicep's outputs and SERVICE_QUESTION_GENERATOR_IMAGE_NAME);
// without azd, see docs/deployment.md. The app itself is described once, in modules/service-app.bicep.

@description('azd environment name (tags).')
param environmentName string

@description('Azure region (main.bicep\'s PERSONAGYM_LOCATION).')
param location string

@description('Image of PersonaGym.QuestionGenerator, <registry>/<repository>:<tag>.')
param imageName string

param containerAppsEnvironmentId string
param registryEndpoint string
param identityId string
@description('Client id of that identity (its PostgreSQL login).')
param identityClientId string
param keyVaultUri string

@description('Optional secrets stored in the vault (main.bicep\'s PERSONAGYM_OPTIONAL_VAULT_ENTRIES).')
param optionalVaultEntries string = ''

param questionWriterModel string
param exemplarWriterModel string
param judgeModels string
param agentModels string

param minReplicas int
param maxReplicas int

@description('Waiting messages per replica (KEDA QueueLength target).')
param queueLength int

module app 'modules/service-app.bicep' = {
  name: 'app-question-generator'
  params: {
    name: 'question-generator'
    location: location
    tags: {
      'azd-env-name': environmentName
    }
    environmentId: containerAppsEnvironmentId
    image: imageName
    registryServer: registryEndpoint
    identityId: identityId
    identityClientId: identityClientId
    keyVaultUri: keyVaultUri
    optionalSecretNames: optionalVaultEntries
    ingressMode: 'none'
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    models: {
      questionWriter: questionWriterModel
      exemplarWriter: exemplarWriterModel
      judges: judgeModels
      agents: agentModels
    }
    // The endpoint name fixed in PersonaGym.Contracts (Endpoints), which a test pins.
    scaleQueueName: 'question-generator'
    scaleQueueLength: queueLength
  }
}

output PERSONAGYM_QUESTION_GENERATOR_APP string = app.outputs.name
