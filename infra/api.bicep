// The Api: the only app reachable from outside (HTTPS ingress). It owns the schema and applies the migrations at start, before it serves or consumes anything.
// Deployed after infra/main.bicep, once the image is in the registry: `azd deploy api` runs this file with
// api.parameters.json filled from the azd environment (main.bicep's outputs and SERVICE_API_IMAGE_NAME);
// without azd, see docs/deployment.md. The app itself is described once, in modules/service-app.bicep.

@description('azd environment name (tags).')
param environmentName string

@description('Azure region (main.bicep\'s PERSONAGYM_LOCATION).')
param location string

@description('Image of PersonaGym.Api, <registry>/<repository>:<tag>.')
param imageName string

param containerAppsEnvironmentId string
param registryEndpoint string
param identityId string
param keyVaultUri string

@description('Optional secrets stored in the vault (main.bicep\'s PERSONAGYM_OPTIONAL_VAULT_ENTRIES).')
param optionalVaultEntries string = ''

param questionWriterModel string
param exemplarWriterModel string
param judgeModels string
param agentModels string

param minReplicas int
param maxReplicas int

@description('Entra ID sign-in (the AzureAd section Microsoft.Identity.Web reads); an empty client id turns it off.')
param entraInstance string
param entraTenantId string = ''
param entraClientId string = ''
param entraAudience string = ''

// Entra ID settings only when a client id is set: without one the Api accepts Api keys only.
var entraSettings = empty(entraClientId) ? {} : union({
  AzureAd__Instance: entraInstance
  AzureAd__TenantId: entraTenantId
  AzureAd__ClientId: entraClientId
}, empty(entraAudience) ? {} : {
  AzureAd__Audience: entraAudience
})

var bootstrapKey = contains(split(optionalVaultEntries, ','), 'api-bootstrap-key') ? {
  'api-bootstrap-key': 'PersonaGym__Auth__BootstrapKey'
} : {}

module app 'modules/service-app.bicep' = {
  name: 'app-api'
  params: {
    name: 'api'
    location: location
    tags: {
      'azd-env-name': environmentName
    }
    environmentId: containerAppsEnvironmentId
    image: imageName
    registryServer: registryEndpoint
    identityId: identityId
    keyVaultUri: keyVaultUri
    optionalSecretNames: optionalVaultEntries
    ingressMode: 'external'
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    models: {
      questionWriter: questionWriterModel
      exemplarWriter: exemplarWriterModel
      judges: judgeModels
      agents: agentModels
    }
    settings: union(entraSettings, {
      // Container Apps' ingress terminates TLS: the Api sees the original scheme and client address.
      ASPNETCORE_FORWARDEDHEADERS_ENABLED: 'true'
    })
    vaultReferences: bootstrapKey
  }
}

@description('Public address of the Api: use it with the CLI\'s --server.')
output PERSONAGYM_API_URL string = 'https://${app.outputs.fqdn}'
