using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Npgsql;
using PersonaGym.Data;

namespace PersonaGym.Hosting;

/// <summary>How a service proves who it is to PostgreSQL (<c>PersonaGym:Database:Authentication</c>).</summary>
public enum DatabaseAuthenticationMode
{
    /// <summary>The password in the connection string (local systems, external servers).</summary>
    Password,

    /// <summary>
    /// A Microsoft Entra access token as the password, obtained for the managed identity named by
    /// <c>PersonaGym:Database:ClientId</c> (Azure Database for PostgreSQL Flexible Server). The connection string
    /// names the role (the identity's name) and carries no password.
    /// </summary>
    EntraManagedIdentity,
}

/// <summary>
/// Builds the <see cref="DatabaseConnection"/> a service uses from its connection string and the
/// <c>PersonaGym:Database</c> settings: with Entra authentication, connections take a fresh token as their password.
/// </summary>
public static class DatabaseAuthentication
{
    public const string ModeKey = "PersonaGym:Database:Authentication";
    public const string ClientIdKey = "PersonaGym:Database:ClientId";
    public const string TokenRefreshKey = "PersonaGym:Database:TokenRefreshInterval";

    /// <summary>The scope of Azure Database for PostgreSQL (and MySQL) access tokens.</summary>
    public const string TokenScope = "https://ossrdbms-aad.database.windows.net/.default";

    /// <summary>
    /// How often new connections ask for the token again. Entra tokens live an hour or more and the credential caches
    /// them, renewing near expiry; asking every few minutes means no connection is ever opened with an expired one.
    /// </summary>
    public static readonly TimeSpan DefaultTokenRefreshInterval = TimeSpan.FromMinutes(5);

    /// <summary>After a failed token request, how soon to try again.</summary>
    public static readonly TimeSpan FailedTokenRetryInterval = TimeSpan.FromSeconds(10);

    /// <summary>The connection for <paramref name="connectionString"/> under the configured authentication.</summary>
    /// <exception cref="InvalidOperationException">The settings do not fit together; the message says how.</exception>
    public static DatabaseConnection Connect(IConfiguration configuration, string connectionString, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var mode = ReadMode(configuration);
        if (mode == DatabaseAuthenticationMode.Password)
        {
            return new DatabaseConnection(DatabaseProvider.Postgres, connectionString);
        }

        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (!string.IsNullOrEmpty(settings.Password))
        {
            throw new InvalidOperationException(
                $"{ModeKey} is {mode}: the database connection string must not carry a password (the token is the password).");
        }
        if (string.IsNullOrEmpty(settings.Username))
        {
            throw new InvalidOperationException(
                $"{ModeKey} is {mode}: the database connection string must name the role (Username=, the managed identity's name).");
        }

        credential ??= CreateCredential(configuration[ClientIdKey]);
        var refresh = configuration.GetValue(TokenRefreshKey, DefaultTokenRefreshInterval);
        if (refresh <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{TokenRefreshKey} must be a positive time span, not {refresh}.");
        }
        return new DatabaseConnection(DatabaseProvider.Postgres, connectionString)
        {
            PostgresDataSource = CreateTokenDataSource(connectionString, credential, refresh),
        };
    }

    /// <summary>
    /// A data source whose connections log in with an access token from <paramref name="credential"/> for
    /// <see cref="TokenScope"/>, asked for again every <paramref name="refreshInterval"/> (Npgsql's periodic password
    /// provider: opening a connection never waits for a token unless none was ever obtained).
    /// </summary>
    public static NpgsqlDataSource CreateTokenDataSource(string connectionString, TokenCredential credential, TimeSpan refreshInterval)
    {
        ArgumentNullException.ThrowIfNull(credential);
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.UsePeriodicPasswordProvider(
            async (_, cancellationToken) =>
                (await credential.GetTokenAsync(new TokenRequestContext([TokenScope]), cancellationToken)).Token,
            refreshInterval,
            FailedTokenRetryInterval);
        return builder.Build();
    }

    /// <summary>The configured mode; <see cref="DatabaseAuthenticationMode.Password"/> when unset.</summary>
    public static DatabaseAuthenticationMode ReadMode(IConfiguration configuration)
    {
        var configured = configuration[ModeKey];
        if (string.IsNullOrWhiteSpace(configured)) return DatabaseAuthenticationMode.Password;
        if (!Enum.TryParse<DatabaseAuthenticationMode>(configured, ignoreCase: true, out var mode) || !Enum.IsDefined(mode))
        {
            throw new InvalidOperationException(
                $"{ModeKey} '{configured}' is not one of: {string.Join(", ", Enum.GetNames<DatabaseAuthenticationMode>())}.");
        }
        return mode;
    }

    /// <summary>The user-assigned managed identity with that client id; without one, whatever DefaultAzureCredential finds.</summary>
    private static TokenCredential CreateCredential(string? clientId) =>
        string.IsNullOrWhiteSpace(clientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
}
