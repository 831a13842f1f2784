// Where the container apps run, where their images come from and where their console output goes: a Log Analytics
// workspace, a Container Apps environment (workload-profiles environment, Consumption profile only), a container
// registry, the user-assigned identity every app runs as (AcrPull on the registry, and the services' PostgreSQL
// login), and the migration step's identity (the PostgreSQL server's Microsoft Entra administrator, nothing else).

@description('Azure region.')
param location string

param tags object = {}

@description('Short name of the deployment, used in resource names.')
param environmentName string

@description('Registry name: globally unique, 5-50 letters and digits.')
param registryName string

@description('Days Log Analytics keeps the services\' logs.')
param logRetentionDays int = 30

// Built-in role "AcrPull".
var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: 'log-${environmentName}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: 'cae-${environmentName}'
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
    // Consumption only: every app here is billed per use.
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

// The images `dotnet publish -t:PublishContainer` (or azd) pushes. No admin user: pushes use the deployer's
// Entra sign-in, pulls the apps' identity.
resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: registryName
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
  }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${environmentName}'
  location: location
  tags: tags
}

// Only the Api's migration step (its init container) uses this identity: it logs in to PostgreSQL as the server's
// Entra administrator to create the services' role and apply the migrations. It has no Azure role assignment.
resource migrationIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${environmentName}-migrations'
  location: location
  tags: tags
}

resource registryPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, identity.id, acrPullRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output environmentId string = environment.id
output environmentName string = environment.name
output defaultDomain string = environment.properties.defaultDomain
output logAnalyticsWorkspaceName string = logs.name
output registryName string = registry.name
output registryLoginServer string = registry.properties.loginServer
output identityId string = identity.id
output identityPrincipalId string = identity.properties.principalId
output identityClientId string = identity.properties.clientId
@description('The identity\'s name, which is also its PostgreSQL role (pgaadauth_create_principal).')
output identityName string = identity.name
output migrationIdentityId string = migrationIdentity.id
output migrationIdentityPrincipalId string = migrationIdentity.properties.principalId
output migrationIdentityClientId string = migrationIdentity.properties.clientId
output migrationIdentityName string = migrationIdentity.name
@description('The AcrPull assignment\'s id: apps that pull from the registry wait for it.')
output registryPullAssignmentId string = registryPull.id
