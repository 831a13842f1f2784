// The web app: the second app reachable from outside (HTTPS ingress), a client of the Api only. It gets no connection
// string, no model spec and no provider key: people sign in with their own Api key, or with Entra ID when the web
// app's own app registration is configured, and every Api call carries their credential (docs/web.md).
// Deployed after infra/main.bicep and the Api, once the image is in the registry: `azd deploy web` runs this file
// with web.parameters.json filled from the azd environment (main.bicep's outputs and SERVICE_WEB_IMAGE_NAME);
// without azd, see docs/deployment.md. The app itself is described once, in modules/service-app.bicep.

@description('azd environment name (tags).')
param environmentName string

@description('Azure region (main.bicep\'s PERSONAGYM_LOCATION).')
param location string

@description('Image of PersonaGym.Web, <registry>/<repository>:<tag>.')
param imageName string

param containerAppsEnvironmentId string
param registryEndpoint string
@description('The apps\' identity: pulls the image and reads the web app\'s Entra client secret from the vault.')
param identityId string
param identityClientId string
param keyVaultUri string

@description('Optional secrets stored in the vault (main.bicep\'s PERSONAGYM_OPTIONAL_VAULT_ENTRIES).')
param optionalVaultEntries string = ''

@description('The Api\'s public address (main.bicep\'s PERSONAGYM_API_URL): the web app\'s only backend.')
param apiUrl string

@description('Entra ID sign-in for people (Microsoft.Identity.Web\'s AzureAd section); an empty client id: Api keys only.')
param entraInstance string
param entraTenantId string = ''
param entraClientId string = ''
@description('The Api\'s delegated scope the web app asks for, e.g. api://<Api client id>/access_as_user.')
param apiScopes string = ''

var storedOptionalSecrets = empty(optionalVaultEntries) ? [] : split(optionalVaultEntries, ',')
var entraSignIn = !empty(entraClientId)

// Without the scope or the client secret Entra sign-in cannot call the Api: refused here, not at the first sign-in.
var entraSettings = !entraSignIn ? {} : {
  AzureAd__Instance: entraInstance
  AzureAd__TenantId: entraTenantId
  AzureAd__ClientId: entraClientId
  AzureAd__CallbackPath: '/signin-oidc'
  PersonaGym__Api__Scopes: empty(apiScopes)
    ? fail('The web app\'s Entra sign-in (PERSONAGYM_WEB_ENTRA_CLIENT_ID) needs the Api\'s delegated scope: set PERSONAGYM_WEB_API_SCOPES.')
    : apiScopes
}
var clientSecret = !entraSignIn ? {} : contains(storedOptionalSecrets, 'web-entra-client-secret') ? {
  'web-entra-client-secret': 'AzureAd__ClientSecret'
} : fail('The web app\'s Entra sign-in (PERSONAGYM_WEB_ENTRA_CLIENT_ID) needs its client secret: set webEntraClientSecret in main.bicep\'s parameters.')

module app 'modules/service-app.bicep' = {
  name: 'app-web'
  params: {
    name: 'web'
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
    ingressMode: 'external'
    stickySessions: true
    // One replica: the sign-in cookie is protected by the data protection key ring the replica keeps for itself, so
    // a second replica could not read the first one's cookies (docs/deployment.md, "Signing in to the web app").
    minReplicas: 1
    maxReplicas: 1
    settings: union(entraSettings, {
      PersonaGym__ApiUrl: apiUrl
      // Container Apps' ingress terminates TLS: the web app sees https, so its cookies are Secure.
      ASPNETCORE_FORWARDEDHEADERS_ENABLED: 'true'
    })
    vaultReferences: clientSecret
  }
}

@description('Public address of the web app: sign in there with an Api key (or Entra ID).')
output PERSONAGYM_WEB_URL string = 'https://${app.outputs.fqdn}'
