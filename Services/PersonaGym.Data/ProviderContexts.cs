using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace PersonaGym.Data;

/// <summary>The model on PostgreSQL (services). Its migrations live in Migrations/Postgres.</summary>
public sealed class PostgresPersonaGymDbContext(DbContextOptions<PostgresPersonaGymDbContext> options)
    : PersonaGymDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        base.ConfigureConventions(configurationBuilder);
        // timestamptz accepts only UTC offsets from Npgsql; normalize instead of failing on a local time.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcDateTimeOffsetConverter>();
    }
}

/// <summary>The model on SQLite (the CLI's local default). Its migrations live in Migrations/Sqlite.</summary>
public sealed class SqlitePersonaGymDbContext(DbContextOptions<SqlitePersonaGymDbContext> options)
    : PersonaGymDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        base.ConfigureConventions(configurationBuilder);
        // SQLite cannot compare or order DateTimeOffset stored as text; UTC ticks order correctly and exactly.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
    }
}

/// <summary>Stores a <see cref="DateTimeOffset"/> as its UTC ticks; reads it back with a zero offset.</summary>
public sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
    value => value.UtcTicks,
    ticks => new DateTimeOffset(ticks, TimeSpan.Zero));

/// <summary>Normalizes a <see cref="DateTimeOffset"/> to UTC before it is written.</summary>
public sealed class UtcDateTimeOffsetConverter() : ValueConverter<DateTimeOffset, DateTimeOffset>(
    value => value.ToUniversalTime(),
    value => value);

/// <summary>Lets <c>dotnet ef migrations add … --context PostgresPersonaGymDbContext</c> build the model without a server.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresPersonaGymDbContext>
{
    public PostgresPersonaGymDbContext CreateDbContext(string[] args) =>
        (PostgresPersonaGymDbContext)PersonaGymDatabase.CreateDbContext(
            DatabaseConnection.Parse("Host=localhost;Database=personagym;Username=postgres"));
}

/// <summary>Lets <c>dotnet ef migrations add … --context SqlitePersonaGymDbContext</c> build the model.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqlitePersonaGymDbContext>
{
    public SqlitePersonaGymDbContext CreateDbContext(string[] args) =>
        (SqlitePersonaGymDbContext)PersonaGymDatabase.CreateDbContext(DatabaseConnection.Parse("sqlite:personagym.db"));
}
