namespace PersonaGym.Cli.Display;

/// <summary>Checks --output paths before a run starts, so a typo never costs a run.</summary>
public static class ReportFormats
{
    public static readonly string[] Extensions = [".json", ".csv", ".md", ".markdown"];

    public static void Check(IEnumerable<string> outputs)
    {
        var problems = new List<string>();
        foreach (var output in outputs)
        {
            var extension = Path.GetExtension(output).ToLowerInvariant();
            if (!Extensions.Contains(extension))
                problems.Add($"{output}: unknown format '{extension}' (use {string.Join(", ", Extensions)})");
            var folder = Path.GetDirectoryName(Path.GetFullPath(output));
            if (folder is not null && !Directory.Exists(folder))
                problems.Add($"{output}: the folder {folder} does not exist");
        }

        if (problems.Count > 0) throw new CliException("--output cannot be written", problems);
    }
}
