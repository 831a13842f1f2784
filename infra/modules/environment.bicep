// Where the container apps run and where their console output goes: a Log Analytics workspace and
// a Container Apps environment (workload-profiles environment, Consumption profile only).

@description('Azure region.')
param location string

@description('Short name of the deployment, used in resource names.')
param environmentName string

@description('Days Log Analytics keeps the services\' logs.')
param logRetentionDays int = 30

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: 'log-${environmentName}'
  location: location
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
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
    // Consumption only: every app here is billed per use, and the judges scale to zero.
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

output environmentId string = environment.id
output environmentName string = environment.name
output defaultDomain string = environment.properties.defaultDomain
output logAnalyticsWorkspaceName string = logs.name
