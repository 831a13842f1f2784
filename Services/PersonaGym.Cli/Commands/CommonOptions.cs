using System.CommandLine;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Cli.Local;
using PersonaGym.Data;

namespace PersonaGym.Cli.Commands;

/// <summary>Options several commands share, and how they are resolved.</summary>
public static class CommonOptions
{
    public const string DatabaseEnvironmentVariable = "PERSONAGYM_DB";

    public static Option<string?> Database() => new("--db")
    {
        Description = "Database: a SQLite file (default personagym.db, or $PERSONAGYM_DB) or a PostgreSQL connection string / postgres:// URI.",
        HelpName = "DB",
    };

    public static Option<string?> Server() => new("--server")
    {
        Description = "A PersonaGym server (the Api's base URL, e.g. http://localhost:5080): submit and follow the run there instead of running it here.",
        HelpName = "URL",
    };

    public const string ApiKeyEnvironmentVariable = "PERSONAGYM_API_KEY";

    public static Option<string?> ApiKey() => new("--api-key")
    {
        Description = "With --server: the Api key to send (default $PERSONAGYM_API_KEY). Prefer the variable: a command line is visible to other users of the machine.",
        HelpName = "KEY",
    };

    /// <summary>
    /// The key for a server: the option, else $PERSONAGYM_API_KEY, else none. A blank variable is none: sending an
    /// empty X-Api-Key header would be a credential that is certainly wrong instead of none.
    /// </summary>
    public static string? ResolveApiKey(string? argument) =>
        !string.IsNullOrWhiteSpace(argument) ? argument.Trim()
        : Environment.GetEnvironmentVariable(ApiKeyEnvironmentVariable) is { } env && !string.IsNullOrWhiteSpace(env) ? env.Trim()
        : null;

    public static Option<string[]> Output() => new("--output", "-o")
    {
        Description = "Write the results to FILE: .json, .csv or .md by extension (repeatable).",
        HelpName = "FILE",
        AllowMultipleArgumentsPerToken = false,
    };

    public static DatabaseConnection ResolveDatabase(string? argument)
    {
        var text = string.IsNullOrWhiteSpace(argument) ? Environment.GetEnvironmentVariable(DatabaseEnvironmentVariable) : argument;
        try
        {
            return DatabaseConnection.Parse(text);
        }
        catch (FormatException ex)
        {
            throw new CliException($"--db: {ex.Message}");
        }
    }

    /// <summary>Opens the database (migrating it), with or without the pipeline running, turning every failure into a clear message.</summary>
    public static async Task<LocalEngine> OpenAsync(string? database, bool startPipeline, CancellationToken cancellationToken)
    {
        var connection = ResolveDatabase(database);
        try
        {
            return await LocalEngine.StartAsync(connection, startPipeline, cancellationToken: cancellationToken);
        }
        catch (DatabaseUnavailableException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>A run named by its id, a unique prefix of it, or its name (the newest run of that name).</summary>
    public static async Task<Guid> ResolveRunAsync(PersonaGymDbContext db, string reference, CancellationToken cancellationToken)
    {
        if (Guid.TryParse(reference, out var id))
        {
            if (await db.Runs.AnyAsync(r => r.Id == id, cancellationToken)) return id;
            throw new CliException($"no run with id {id} in this database (list them with `personagym runs`)");
        }

        var runs = await db.Runs.AsNoTracking().Select(r => new { r.Id, r.Name, r.CreatedAt }).ToListAsync(cancellationToken);
        var byPrefix = runs.Where(r => r.Id.ToString().StartsWith(reference, StringComparison.OrdinalIgnoreCase)).ToList();
        if (byPrefix.Count == 1) return byPrefix[0].Id;
        if (byPrefix.Count > 1) throw new CliException($"'{reference}' matches {byPrefix.Count} runs; give more of the id");
        var byName = runs.Where(r => r.Name == reference).OrderByDescending(r => r.CreatedAt).FirstOrDefault();
        return byName?.Id ?? throw new CliException($"no run '{reference}' in this database (list them with `personagym runs`)");
    }

    public static Guid ParseRunId(string reference) =>
        Guid.TryParse(reference, out var id) ? id : throw new CliException("with --server, name the run by its full id");
}
