using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;

namespace PersonaGym.Data.Tests;

public sealed class ServiceRegistrationTests : IDisposable
{
    private readonly SqliteTestDatabase _database = new();

    [Fact]
    public async Task Registered_services_share_one_migrated_database_and_cache()
    {
        await using var services = new ServiceCollection().AddPersonaGymData(_database.Connection).BuildServiceProvider();
        await PersonaGymDatabase.MigrateAsync(services);

        var factory = services.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>();
        var cache = services.GetRequiredService<IDistributedCache>();
        await cache.SetAsync("k", [1, 2, 3], new DistributedCacheEntryOptions());

        Assert.IsType<EfDistributedCache>(cache);
        await using var db = await factory.CreateDbContextAsync();
        Assert.IsType<SqlitePersonaGymDbContext>(db);
        Assert.Equal(1, await db.CacheEntries.CountAsync());
        await using var scope = services.CreateAsyncScope();
        Assert.Equal(1, await scope.ServiceProvider.GetRequiredService<PersonaGymDbContext>().CacheEntries.CountAsync());
    }

    [Fact]
    public void A_postgres_connection_registers_the_postgres_context()
    {
        using var services = new ServiceCollection()
            .AddPersonaGymData(DatabaseConnection.Parse("Host=localhost;Database=unused"))
            .BuildServiceProvider();
        using var db = services.GetRequiredService<IDbContextFactory<PersonaGymDbContext>>().CreateDbContext();
        Assert.IsType<PostgresPersonaGymDbContext>(db);
        Assert.True(db.Database.IsNpgsql());
    }

    public void Dispose() => _database.Dispose();
}
