using System.CommandLine;
using System.Globalization;
using PersonaGym.Data;
using Spectre.Console;

namespace PersonaGym.Cli.Commands;

/// <summary><c>keys create|list|revoke</c>: the Api's keys, managed in its database (<c>--db</c>).</summary>
public sealed class KeysCommands(CliConsole io)
{
    public Command Build() => new("keys", "Manage the Api's keys in its database (--db): readers read results; operators also submit, resume, cancel and raise budgets.")
    {
        Create(), List(), Revoke(),
    };

    private Command Create()
    {
        var name = new Option<string>("--name") { Description = "Who or what uses the key (e.g. ci, web, alice).", Required = true, HelpName = "NAME" };
        var role = new Option<string>("--role")
        {
            Description = "reader (results) or operator (also submit, resume, cancel, raise budgets).",
            DefaultValueFactory = _ => "reader",
            HelpName = "reader|operator",
        };
        role.AcceptOnlyFromAmong("reader", "operator");
        var db = CommonOptions.Database();
        var command = new Command("create", "Create a key and print it once; only its hash is stored.") { name, role, db };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            var keyName = result.GetValue(name)!;
            if (ApiKeyStore.ValidateName(keyName) is { } problem) throw new CliException($"--name: {problem}");
            var keyRole = result.GetValue(role) == "operator" ? ApiKeyRole.Operator : ApiKeyRole.Reader;
            await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
            await using var context = await engine.OpenAsync(ct);
            var created = await ApiKeyStore.CreateAsync(context, keyName, keyRole, cancellationToken: ct);
            // The one place a secret is printed: the answer to the command that made it, on standard output only.
            io.Out.WriteLine(created.Secret);
            io.Error.WriteLine($"Created {created.Key.Role.ToString().ToLowerInvariant()} key '{created.Key.Name}' ({created.Key.Prefix}…). " +
                               $"It is shown only now; use it with: export {CommonOptions.ApiKeyEnvironmentVariable}=<the key above>");
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command List()
    {
        var db = CommonOptions.Database();
        var command = new Command("list", "List the keys: name, role, prefix, created, revoked (never the keys themselves).") { db };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
            await using var context = await engine.OpenAsync(ct);
            var keys = await ApiKeyStore.ListAsync(context, ct);
            if (keys.Count == 0)
            {
                io.Out.WriteLine("No keys yet. Create one with: personagym keys create --name NAME --role operator");
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in new[] { "Id", "Name", "Role", "Prefix", "Created", "Revoked" }) table.AddColumn(column);
            foreach (var key in keys)
            {
                table.AddRow(key.Id.ToString(), Markup.Escape(key.Name), key.Role.ToString().ToLowerInvariant(), Markup.Escape(key.Prefix) + "…",
                    key.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
                    key.RevokedAt?.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "");
            }

            io.Out.Write(table);
            return ExitCodes.Success;
        }));
        return command;
    }

    private Command Revoke()
    {
        var key = new Argument<string>("KEY") { Description = "The key's id, its prefix (pgk_…, as `keys list` shows it) or its name." };
        var db = CommonOptions.Database();
        var command = new Command("revoke", "Revoke a key: the Api refuses it from the next request on.") { key, db };
        command.SetAction((result, ct) => io.GuardAsync(async () =>
        {
            await using var engine = await CommonOptions.OpenAsync(result.GetValue(db), startPipeline: false, ct);
            await using var context = await engine.OpenAsync(ct);
            ApiKeyInfo revoked;
            try
            {
                revoked = await ApiKeyStore.RevokeAsync(context, result.GetValue(key)!, cancellationToken: ct);
            }
            catch (ApiKeyException ex)
            {
                throw new CliException(ex.Message);
            }

            io.Out.WriteLine($"Revoked key '{revoked.Name}' ({revoked.Prefix}…).");
            return ExitCodes.Success;
        }));
        return command;
    }
}
