// The Key Vault holding every secret the container apps use: connection strings, the broker password, the scale
// rules' broker address and the provider keys that are set. The apps read them through Key Vault references with
// the user-assigned identity, which gets "Key Vault Secrets User" here; nothing secret is stored in an app's own
// configuration, in outputs or in a parameters file.

@description('Azure region.')
param location string

param tags object = {}

@description('Vault name: globally unique, 3-24 letters, digits and hyphens.')
param vaultName string

@description('Principal id of the identity the container apps use.')
param readerPrincipalId string

@description('Names of the secrets below, listed plainly so that the number of secrets is known before deployment.')
param secretNames string[]

@description('Secrets to store, by name. Empty values are left out (a provider key that is not set).')
@secure()
param secrets object

// Built-in role "Key Vault Secrets User": read secret values, nothing else.
var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    // Soft delete is always on; purge protection stays off so that `azd down --purge` can remove the vault.
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, secretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource stored 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for name in secretNames: if (!empty(secrets[name])) {
  parent: vault
  name: name
  properties: {
    value: secrets[name]
  }
}]

@description('https://<vault>.vault.azure.net/: a secret\'s reference is <vaultUri>secrets/<name>.')
output vaultUri string = vault.properties.vaultUri

output vaultName string = vault.name

@description('The role assignment\'s id: apps that read the vault wait for it.')
output readerRoleAssignmentId string = secretsUser.id
