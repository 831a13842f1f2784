using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Cli.Commands;
using PersonaGym.Cli.Local;
using PersonaGym.Core.Benchmark;
using PersonaGym.Data;
using PersonaGym.Pipeline.QuestionSets;
using Spectre.Console;

namespace PersonaGym.Cli.Benchmark;

/// <summary><c>benchmark import</c>, <c>sets</c>, <c>sets export</c> and <c>sets freeze</c>: stored question sets.</summary>
public sealed class QuestionSetCommands(CliConsole io)
{
    public Command Benchmark()
    {
        var directory = new Argument<string>("DIR") { Description = "A benchmark in the original PersonaGym layout: personas.json, questions/<persona>.json, optional environments.json." };
        var name = new Option<string?>("--name") { Description = "The set's name (default: the folder's name, e.g. personagym-benchmark-v1).", HelpName = "NAME" };
        var version = new Option<string?>("--version") { Description = $"The set's version (default {QuestionSetCatalog.DefaultVersion}).", HelpName = "V" };
        var db = CommonOptions.Database();
        var import = new Command("import", "Check a benchmark folder item by item and store it as a frozen question set; nothing is stored if anything is wrong.")
        {
            directory, name, version, db,
        };
        import.SetAction((result, ct) => io.GuardAsync(() => ImportAsync(result.GetValue(directory)!, result.GetValue(name), result.GetValue(version), result.GetValue(db), ct)));
        return new Command("benchmark", "The original PersonaGym benchmark (200 personas, 10,000 questions) and other benchmarks in its layout.") { import };
    }

    private async Task<int> ImportAsync(string directory, string? name, string? version, string? database, CancellationToken ct)
    {
        // Read and check everything before the database is even opened: a bad folder stores nothing.
        var benchmark = BenchmarkFormat.Read(directory);
        if (!benchmark.IsValid)
            throw new CliException($"{directory} is not a valid benchmark: {benchmark.Issues.Count} issue(s); nothing was stored",
                benchmark.Issues.Select(i => i.ToString()).ToList());

        var setName = string.IsNullOrWhiteSpace(name) ? DefaultName(directory) : name.Trim();
        var setVersion = string.IsNullOrWhiteSpace(version) ? QuestionSetCatalog.DefaultVersion : version.Trim();
        CheckReference(setName, setVersion);

        await using var engine = await CommonOptions.OpenAsync(database, startPipeline: false, ct);
        var imported = await Catalog(engine).ImportAsync(benchmark, setName, setVersion,
            $"Imported from {Path.GetFullPath(directory)}", ct);
        var set = imported.Set;
        switch (imported.Outcome)
        {
            case QuestionSetImportOutcome.Conflict:
                throw new CliException(
                    $"a question set {set.Reference} is stored already with other questions ({Count(set.Personas, "persona")}, {Count(set.Questions, "question")}); " +
                    $"a frozen set never changes: import this folder under another version, e.g. --version {NextVersion(set.Version)}");
            case QuestionSetImportOutcome.AlreadyImported:
                io.Out.MarkupLine($"[bold]{Markup.Escape(set.Reference)}[/] is already imported with exactly these questions ({Count(set.Personas, "persona")}, {Count(set.Questions, "question")}); nothing changed.");
                break;
            default:
                io.Out.MarkupLine($"Imported [bold]{Markup.Escape(set.Reference)}[/] (frozen): {Count(set.Personas, "persona")}, {Count(set.Questions, "question")} in batches of {QuestionSetCatalog.ImportedBatchSize} per task" +
                                  (benchmark.Environments is { } pool ? $", {Count(pool.Count, "environment")}." : "."));
                break;
        }

        // The paper's published scores, stored with the set as leaderboard reference rows.
        var (published, issues) = BenchmarkFormat.ReadPublishedScores(directory);
        foreach (var issue in issues) io.Error.WriteLine($"warning: {issue} (not stored as a reference score)");
        if (published.Count > 0)
        {
            var added = await Catalog(engine).StoreReferenceScoresAsync(set.Id, published, ct);
            io.Out.MarkupLine(Markup.Escape($"Published scores of {Count(published.Count, "model")} stored as reference rows ({Count(added, "new figure")})."));
        }

        io.Out.MarkupLine(Markup.Escape($"Run it with: personagym run --question-set {set.Reference} --agent SPEC{DatabaseHint(database)}") +
                          " [grey](--limit N for its first N personas)[/]");
        return ExitCodes.Success;
    }

    public Command Sets()
    {
        var db = CommonOptions.Database();
        var command = new Command("sets", "List the stored question sets; export one in the benchmark layout, or freeze a run's generated questions as a named set.")
        {
            db, Export(), Freeze(),
        };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
            var sets = await Catalog(engine).ListAsync(ct);
            if (sets.Count == 0)
            {
                io.Out.WriteLine("No question sets yet. Import the original benchmark with: personagym benchmark import DIR");
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in new[] { "Set", "Source", "Frozen", "Personas", "Questions", "Created" }) table.AddColumn(column);
            foreach (var set in sets)
            {
                table.AddRow(
                    Markup.Escape(set.Reference),
                    set.Source.ToString(),
                    set.Frozen ? "yes" : "no",
                    set.Personas.ToString(CultureInfo.InvariantCulture),
                    set.Questions.ToString(CultureInfo.InvariantCulture),
                    set.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            }

            io.Out.Write(table);
            io.Out.MarkupLine("[grey]Run a frozen set with: personagym run --question-set NAME@VERSION --agent SPEC[/]");
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command Export()
    {
        var set = new Argument<string>("SET") { Description = "The set: NAME (its newest version) or NAME@VERSION." };
        var directory = new Argument<string>("DIR") { Description = "The folder to write (created if needed; it must not hold other personas' question files)." };
        var db = CommonOptions.Database();
        var command = new Command("export", "Write a question set in the original benchmark layout (personas.json, questions/<persona>.json, environments.json when known).")
        {
            set, directory, db,
        };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
            QuestionSetExport export;
            try
            {
                export = await Catalog(engine).ExportAsync(result.GetValue(set)!, result.GetValue(directory)!, ct);
            }
            catch (QuestionSetException ex)
            {
                throw new CliException(ex.Message, ex.Details);
            }

            foreach (var skipped in export.Skipped) io.Out.MarkupLine($"[yellow]! left out {Markup.Escape(skipped)}[/]");
            var files = export.WroteEnvironments
                ? $"{BenchmarkFileNames.PersonasFile}, {BenchmarkFileNames.QuestionsFolder}/, {BenchmarkFileNames.EnvironmentsFile}"
                : $"{BenchmarkFileNames.PersonasFile}, {BenchmarkFileNames.QuestionsFolder}/";
            io.Out.MarkupLine(Markup.Escape(
                $"Wrote {export.Set.Reference} to {export.Directory}: {Count(export.Personas, "persona")}, {Count(export.Questions, "question")} ({files})."));
            return export.Skipped.Count > 0 ? ExitCodes.Partial : ExitCodes.Success;
        }));
        return command;
    }

    private Command Freeze()
    {
        var run = new Argument<string>("RUN") { Description = "The run whose generated questions to keep (its id, a unique prefix of it, or its name)." };
        var name = new Option<string>("--name") { Description = "The set's name.", HelpName = "NAME", Required = true };
        var version = new Option<string?>("--version") { Description = $"The set's version (default {QuestionSetCatalog.DefaultVersion}).", HelpName = "V" };
        var db = CommonOptions.Database();
        var command = new Command("freeze", "Name a run's generated questions and freeze them, so later runs ask exactly these questions (--question-set) with no question calls.")
        {
            run, name, version, db,
        };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            var setName = result.GetValue(name)!.Trim();
            var setVersion = string.IsNullOrWhiteSpace(result.GetValue(version)) ? QuestionSetCatalog.DefaultVersion : result.GetValue(version)!.Trim();
            CheckReference(setName, setVersion);

            await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
            Guid runId;
            await using (var context = await engine.OpenAsync(ct))
            {
                runId = await CommonOptions.ResolveRunAsync(context, result.GetValue(run)!, ct);
            }

            QuestionSetSummary set;
            try
            {
                set = await Catalog(engine).FreezeAsync(runId, setName, setVersion, ct);
            }
            catch (QuestionSetException ex)
            {
                throw new CliException(ex.Message, ex.Details);
            }

            io.Out.MarkupLine($"Froze the questions of run {runId} as [bold]{Markup.Escape(set.Reference)}[/]: {Count(set.Personas, "persona")}, {Count(set.Questions, "question")}.");
            io.Out.WriteLine($"Run it with: personagym run --question-set {set.Reference} --agent SPEC{DatabaseHint(result.GetValue(db))}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static QuestionSetCatalog Catalog(LocalEngine engine) => engine.Services.GetRequiredService<QuestionSetCatalog>();

    /// <summary>The default set name: the benchmark folder's own name (e.g. personagym-benchmark-v1).</summary>
    public static string DefaultName(string directory) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))).Replace('@', '-');

    private static void CheckReference(string name, string version)
    {
        try
        {
            QuestionSetCatalog.CheckReference(name, version);
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    private static string NextVersion(string version) =>
        int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? (number + 1).ToString(CultureInfo.InvariantCulture) : version + "-2";

    /// <summary>
    /// The --db the user gave, repeated in a suggested command so it names the same database, with any password
    /// replaced by <c>***</c>: a hint is printed, and printed text ends up in terminals, logs and CI output.
    /// </summary>
    public static string DatabaseHint(string? database)
    {
        if (string.IsNullOrWhiteSpace(database)) return "";
        var shown = database;
        try
        {
            var connection = DatabaseConnection.Parse(database);
            if (connection.Provider == DatabaseProvider.Postgres)
            {
                var builder = new Npgsql.NpgsqlConnectionStringBuilder(connection.ConnectionString);
                if (!string.IsNullOrEmpty(builder.Password))
                {
                    builder.Password = "***";
                    shown = builder.ConnectionString;
                }
            }
        }
        catch (FormatException)
        {
            // Not parseable: it was accepted before, so this does not happen; show nothing of it rather than risk a secret.
            shown = "DB";
        }

        return shown.Contains(' ') || shown.Contains(';') ? $" --db \"{shown}\"" : $" --db {shown}";
    }

    public static string Count(int count, string noun) =>
        $"{count.ToString("N0", CultureInfo.InvariantCulture)} {noun}{(count == 1 ? "" : "s")}";
}
