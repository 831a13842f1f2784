using System.Text.Json.Nodes;

namespace PersonaGym.Infra.Tests;

/// <summary>
/// The Bicep CLI on a copy of infra/: <c>build</c> gives the ARM JSON Azure receives, <c>snapshot</c> evaluates a
/// template with given parameters the way Azure Resource Manager would before deploying (offline, nothing is sent),
/// including <c>fail()</c> refusals. The copy keeps parameter files and snapshots out of the repository.
/// </summary>
public sealed class Bicep : IDisposable
{
    public const string SubscriptionId = "00000000-0000-0000-0000-000000000000";
    public const string ResourceGroup = "rg-pgym";
    public const string Location = "westeurope";

    private readonly string _copy = Directory.CreateTempSubdirectory("personagym-infra-").FullName;

    public Bicep()
    {
        if (!File.Exists(Repository.BicepPath))
        {
            throw new InvalidOperationException($"The Bicep CLI is not at {Repository.BicepPath}: restore this test project (it downloads Azure.Bicep.CommandLine.linux-x64).");
        }
        // NuGet extracts the linux-x64 binary without its execute bit.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Repository.BicepPath, File.GetUnixFileMode(Repository.BicepPath) | UnixFileMode.UserExecute);
        }
        CopyDirectory(Repository.Infra, _copy);
    }

    /// <summary>The compiled ARM template of an infra/ file, e.g. "main" or "modules/postgres".</summary>
    public async Task<JsonObject> BuildAsync(string file)
    {
        var (exitCode, output) = await RunAsync("build", $"{file}.bicep", "--stdout");
        Assert.True(exitCode == 0, $"bicep build {file}.bicep failed:\n{output}");
        return JsonNode.Parse(output[..(output.LastIndexOf('}') + 1)])!.AsObject();
    }

    /// <summary>Evaluates an infra/ template with parameters (Bicep literals by name); null with the reason when ARM refuses it.</summary>
    public async Task<(JsonObject? Snapshot, string Output)> SnapshotAsync(string file, IReadOnlyDictionary<string, string> parameters)
    {
        var name = $"{file.Replace('/', '-')}-{Guid.NewGuid():N}";
        var parameterFile = Path.Combine(_copy, $"{name}.bicepparam");
        var lines = new List<string> { $"using '{file}.bicep'" };
        lines.AddRange(parameters.Select(p => $"param {p.Key} = {p.Value}"));
        await File.WriteAllLinesAsync(parameterFile, lines);

        var (exitCode, output) = await RunAsync("snapshot", parameterFile,
            "--subscription-id", SubscriptionId, "--resource-group", ResourceGroup, "--location", Location);
        var snapshotFile = Path.ChangeExtension(parameterFile, ".snapshot.json");
        if (exitCode != 0 || !File.Exists(snapshotFile))
        {
            return (null, output);
        }
        return (JsonNode.Parse(await File.ReadAllTextAsync(snapshotFile))!.AsObject(), output);
    }

    private Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) =>
        Repository.RunAsync(Repository.BicepPath, arguments, _copy, TimeSpan.FromMinutes(3));

    private static void CopyDirectory(string from, string to)
    {
        // The templates, their modules and parameter files; not infra/tools (the CLI's restore project).
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories)
                     .Where(f => f.EndsWith(".bicep", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
                     .Where(f => !Path.GetRelativePath(from, f).StartsWith("tools", StringComparison.Ordinal)))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_copy, recursive: true); } catch (IOException) { }
    }
}
