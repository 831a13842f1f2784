using Npgsql;

namespace PersonaGym.Data.Tests;

public sealed class DatabaseConnectionTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("sqlite:")]
    public void No_database_named_means_the_default_sqlite_file(string? argument)
    {
        var connection = DatabaseConnection.Parse(argument);
        Assert.Equal(DatabaseProvider.Sqlite, connection.Provider);
        Assert.Equal($"Data Source={Path.GetFullPath("personagym.db")}", connection.ConnectionString);
    }

    [Theory]
    [InlineData("sqlite:runs/eval.db", "runs/eval.db")]
    [InlineData("runs/eval.db", "runs/eval.db")]
    [InlineData("/var/data/personagym.sqlite", "/var/data/personagym.sqlite")]
    public void A_path_names_a_sqlite_file(string argument, string path)
    {
        var connection = DatabaseConnection.Parse(argument);
        Assert.Equal(DatabaseProvider.Sqlite, connection.Provider);
        Assert.Equal($"Data Source={Path.GetFullPath(path)}", connection.ConnectionString);
    }

    [Fact]
    public void A_sqlite_connection_string_is_kept()
    {
        var connection = DatabaseConnection.Parse("Data Source=/tmp/x.db;Cache=Shared");
        Assert.Equal(DatabaseProvider.Sqlite, connection.Provider);
        Assert.Contains("Cache=Shared", connection.ConnectionString);
    }

    [Fact]
    public void A_host_connection_string_names_postgres()
    {
        var connection = DatabaseConnection.Parse("Host=db.internal;Port=6432;Database=pg;Username=app;Password=secret");
        var builder = new NpgsqlConnectionStringBuilder(connection.ConnectionString);
        Assert.Equal(DatabaseProvider.Postgres, connection.Provider);
        Assert.Equal(("db.internal", 6432, "pg", "app", "secret"), (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password));
    }

    [Theory]
    [InlineData("postgres://app:s%40cret@db.internal:6432/personagym?sslmode=require")]
    [InlineData("postgresql://app:s%40cret@db.internal:6432/personagym?sslmode=require")]
    public void A_postgres_uri_becomes_an_npgsql_connection_string(string argument)
    {
        var connection = DatabaseConnection.Parse(argument);
        var builder = new NpgsqlConnectionStringBuilder(connection.ConnectionString);
        Assert.Equal(DatabaseProvider.Postgres, connection.Provider);
        Assert.Equal(("db.internal", 6432, "personagym", "app", "s@cret", SslMode.Require),
            (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password, builder.SslMode));
    }

    [Fact]
    public void A_postgres_uri_without_port_uses_the_default_port()
    {
        var builder = new NpgsqlConnectionStringBuilder(DatabaseConnection.Parse("postgres://app@localhost/db").ConnectionString);
        Assert.Equal((5432, "app", "db"), (builder.Port, builder.Username, builder.Database));
    }

    [Theory]
    [InlineData("postgres://app@db/x?no_such_option=1")]
    [InlineData("postgres:///nohost")]
    [InlineData("User=app;Password=x")]
    [InlineData("Host=db;Port=notanumber")]
    [InlineData("sqlite::memory:")]
    public void An_unusable_argument_is_a_format_error(string argument)
    {
        Assert.Throws<FormatException>(() => DatabaseConnection.Parse(argument));
    }

    [Fact]
    public void The_description_of_a_connection_never_shows_its_password()
    {
        var connection = DatabaseConnection.Parse("postgres://app:topsecret@db.internal:5432/personagym");
        Assert.Equal("PostgreSQL personagym on db.internal:5432", connection.ToString());
        Assert.DoesNotContain("topsecret", connection.ToString());
    }

    [Fact]
    public async Task Migrating_a_sqlite_file_in_a_missing_folder_says_which_folder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "personagym-missing-" + Guid.NewGuid().ToString("N"));
        var error = await Assert.ThrowsAsync<DatabaseUnavailableException>(
            () => PersonaGymDatabase.MigrateAsync(DatabaseConnection.Parse(Path.Combine(folder, "x.db"))));
        Assert.Contains(folder, error.Message);
    }
}
