// The Api: the only app reachable from outside (HTTPS ingress). Its init container is the migration step (the image's
// `migrate` command, as the PostgreSQL server's Entra administrator): it creates the services' role, applies the
// migrations and grants that role rows only, before the Api itself starts, serving and consuming as that role.
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

@description('The migration step\'s identity (main.bicep\'s PERSONAGYM_MIGRATION_IDENTITY_*): the server\'s Entra administrator.')
param migrationIdentityId string
param migrationIdentityClientId string
param migrationIdentityName string

@description('Name of the apps\' identity: the PostgreSQL role the migration step creates for the services.')
param identityName string

param postgresHost string
param postgresDatabase string

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

// `PersonaGym.Api migrate` (MigrationStep in PersonaGym.Hosting): the image's entry point with one argument. Every
// revision runs it before its Api starts; it exits 0 once the schema is current.
var migrationStep = {
  name: 'migrations'
  image: imageName
  args: [
    'migrate'
  ]
  resources: {
    cpu: json('0.5')
    memory: '1Gi'
  }
  env: [
    {
      name: 'ConnectionStrings__personagym-owner'
      value: 'Host=${postgresHost};Port=5432;Database=${postgresDatabase};Username=${migrationIdentityName};SSL Mode=Require'
    }
    {
      name: 'PersonaGym__Database__Authentication'
      value: 'EntraManagedIdentity'
    }
    {
      name: 'PersonaGym__Database__ClientId'
      value: migrationIdentityClientId
    }
    {
      name: 'PersonaGym__Database__ServiceRole'
      value: identityName
    }
    {
      name: 'PersonaGym__Database__CreateEntraPrincipal'
      value: 'true'
    }
  ]
}

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
    identityClientId: identityClientId
    keyVaultUri: keyVaultUri
    optionalSecretNames: optionalVaultEntries
    ingressMode: 'external'
    additionalIdentityIds: [
      migrationIdentityId
    ]
    initContainers: [
      migrationStep
    ]
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
      // The migration step (the init container) has brought the schema up to date; the Api only checks it.
      PersonaGym__Database__MigrateAtStart: 'false'
    })
    vaultReferences: bootstrapKey
  }
}

@description('Public address of the Api: use it with the CLI\'s --server.')
output PERSONAGYM_API_URL string = 'https://${app.outputs.fqdn}'
