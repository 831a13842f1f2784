// RabbitMQ as a container app: Azure has no managed RabbitMQ. One replica, reachable only inside
// the Container Apps environment (internal TCP ingress on 5672, by the app's name).
//
// Storage is ephemeral on purpose, and so the broker's state is disposable (an EmptyDir volume: it survives a
// container restart within the replica, not a new replica or revision):
// - PostgreSQL, not the broker, is the system of record. Every stage's progress is a BatchWork row,
//   and the Api's sweeper re-publishes work that made no progress for StallTimeout, so messages lost
//   with the broker are sent again and runs finish (see docs/architecture.md).
// - RabbitMQ keeps its data under a directory named after the node (rabbit@<hostname>), and every new
//   replica gets a new hostname, so an Azure Files share would not carry queues over without pinning
//   the node name; and RabbitMQ's message store on an SMB share is slow and not supported by RabbitMQ.

@description('Azure region.')
param location string

param tags object = {}

@description('Container app name; the services reach the broker at <name>:5672.')
param name string = 'rabbitmq'

param environmentId string

@description('Broker image: the one the AppHost runs (Aspire.Hosting.RabbitMQ 13.6 with the management plugin). Docker Hub applies pull rate limits to anonymous pulls; mirror it into your registry if that bites.')
param image string = 'docker.io/library/rabbitmq:4.3-management'

@description('Broker user the services and the workers\' scale rules connect as (the image\'s guest user only works from localhost).')
param userName string

@description('Key Vault reference (secret URI) of the broker password.')
param passwordSecretUri string

@description('User-assigned identity that may read the vault.')
param identityId string

@description('CPU cores (as a string, Bicep has no decimal literals).')
param cpu string = '0.5'

param memory string = '1Gi'

resource broker 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: false
        transport: 'tcp'
        targetPort: 5672
        exposedPort: 5672
      }
      secrets: [
        {
          name: 'rabbitmq-password'
          keyVaultUrl: passwordSecretUri
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'rabbitmq'
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: [
            {
              name: 'RABBITMQ_DEFAULT_USER'
              value: userName
            }
            {
              name: 'RABBITMQ_DEFAULT_PASS'
              secretRef: 'rabbitmq-password'
            }
          ]
          volumeMounts: [
            {
              volumeName: 'rabbitmq-data'
              mountPath: '/var/lib/rabbitmq'
            }
          ]
          probes: [
            {
              // The Erlang VM and the plugins take a while on a cold start.
              type: 'Startup'
              tcpSocket: {
                port: 5672
              }
              initialDelaySeconds: 10
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              tcpSocket: {
                port: 5672
              }
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              tcpSocket: {
                port: 5672
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      volumes: [
        {
          name: 'rabbitmq-data'
          storageType: 'EmptyDir'
        }
      ]
      // A single broker node: two replicas would be two separate brokers with separate queues.
      scale: {
        minReplicas: 1
        maxReplicas: 1
      }
    }
  }
}

@description('Host name the services use inside the environment.')
output hostName string = broker.name

@description('Internal FQDN of the broker\'s ingress.')
output internalFqdn string = broker.properties.configuration.ingress.fqdn
