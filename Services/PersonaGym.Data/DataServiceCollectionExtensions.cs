using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;

namespace PersonaGym.Data;

public static class DataServiceCollectionExtensions
{
    /// <summary>
    /// Registers the database: the <see cref="DatabaseConnection"/>, a pooled
    /// <see cref="IDbContextFactory{TContext}"/> of <see cref="PersonaGymDbContext"/> (the provider's subclass behind it),
    /// a scoped <see cref="PersonaGymDbContext"/> from that pool, the <see cref="GroupCommitWriter"/> of per-call rows, and <see cref="EfDistributedCache"/> as the
    /// <see cref="IDistributedCache"/> (the LLM response cache lives in the database, so re-runs cost nothing).
    /// </summary>
    public static IServiceCollection AddPersonaGymData(this IServiceCollection services, DatabaseConnection connection)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(connection);

        services.AddSingleton(connection);
        switch (connection.Provider)
        {
            case DatabaseProvider.Postgres:
                AddPool<PostgresPersonaGymDbContext>(services, connection);
                break;
            case DatabaseProvider.Sqlite:
                AddPool<SqlitePersonaGymDbContext>(services, connection);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(connection), connection.Provider, "Unknown database provider.");
        }
        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>().CreateDbContext());

        services.AddSingleton(sp => new GroupCommitWriter(sp.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>()));
        services.AddSingleton(sp => new EfDistributedCache(
            sp.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>(), sp.GetService<TimeProvider>(), sp.GetRequiredService<GroupCommitWriter>()));
        services.AddSingleton<IDistributedCache>(sp => sp.GetRequiredService<EfDistributedCache>());
        return services;
    }

    private static void AddPool<TContext>(IServiceCollection services, DatabaseConnection connection)
        where TContext : PersonaGymDbContext
    {
        services.AddPooledDbContextFactory<TContext>(options => PersonaGymDatabase.Configure(options, connection));
        services.AddSingleton<IDbContextFactory<PersonaGymDbContext>>(sp =>
            new BaseContextFactory<TContext>(sp.GetRequiredService<IDbContextFactory<TContext>>()));
    }

    /// <summary>Hands out the provider's context as the provider-neutral base type.</summary>
    private sealed class BaseContextFactory<TContext>(IDbContextFactory<TContext> inner) : IDbContextFactory<PersonaGymDbContext>
        where TContext : PersonaGymDbContext
    {
        public PersonaGymDbContext CreateDbContext() => inner.CreateDbContext();

        public async Task<PersonaGymDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default) =>
            await inner.CreateDbContextAsync(cancellationToken);
    }
}
