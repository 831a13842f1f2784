// Azure Database for PostgreSQL Flexible Server with the `personagym` database and Microsoft Entra authentication.
// The migration step (the Api's init container, as the Entra administrator below) creates the services' role and the
// tables, so nothing here creates either. The password administrator is for people only (break-glass): no app
// is given its password.

@description('Azure region.')
param location string

param tags object = {}

@description('Server name: globally unique, 3-63 lowercase letters, digits and hyphens.')
param serverName string

@description('Name of the database the services use (their connection string is named after it).')
param databaseName string = 'personagym'

@description('PostgreSQL major version.')
@allowed([
  '15'
  '16'
])
param version string = '16'

@description('Compute size, e.g. Standard_B2s (Burstable) or Standard_D2ds_v5 (GeneralPurpose).')
param skuName string

@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string

@description('Storage in GB.')
param storageSizeGB int = 32

@description('Administrator login (not azure_superuser, admin, administrator, root, guest, public, or pg_*).')
param administratorLogin string

@secure()
@description('Administrator password.')
param administratorPassword string

@description('Object (principal) id of the managed identity that becomes the server\'s Microsoft Entra administrator.')
param entraAdministratorPrincipalId string

@description('Name of that identity (its PostgreSQL role name).')
param entraAdministratorName string

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: serverName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: version
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorPassword
    authConfig: {
      // The services and the migration step log in with Entra tokens of their managed identities.
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Enabled'
      tenantId: tenant().tenantId
    }
    storage: {
      storageSizeGB: storageSizeGB
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
  }
}

// 0.0.0.0-0.0.0.0 is Azure's convention for "allow connections from Azure services": the container
// apps' outbound addresses are not fixed on a Consumption environment without a virtual network.
resource allowAzureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

// A Flexible Server takes one change at a time: creating the database while the firewall rule is still being
// written fails with "ServerIsBusy", so the database waits for the rule.
resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  dependsOn: [
    allowAzureServices
  ]
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// One change at a time on a Flexible Server: the administrator comes after the database (see above).
resource entraAdministrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: entraAdministratorPrincipalId
  dependsOn: [
    database
  ]
  properties: {
    principalType: 'ServicePrincipal'
    principalName: entraAdministratorName
    tenantId: tenant().tenantId
  }
}

output serverName string = server.name
output fullyQualifiedDomainName string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
