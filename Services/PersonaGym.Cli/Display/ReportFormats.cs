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
            // A missing folder is created when the report is written; one that cannot be (a file is in the way) is
            // reported now.
            var full = Path.GetFullPath(output);
            if (Directory.Exists(full))
                problems.Add($"{output}: is a folder; name a file in it, such as {Path.Combine(output, "results.json")}");
            else if (BlockingFile(Path.GetDirectoryName(full)) is { } file)
                problems.Add($"{output}: the folder cannot be created, {file} is a file");
        }

        if (problems.Count > 0) throw new CliException("--output cannot be written", problems);
    }

    /// <summary>The file, if any, standing where <paramref name="folder"/> or one of its parents should be a folder.</summary>
    private static string? BlockingFile(string? folder)
    {
        for (var current = folder; current is not null; current = Path.GetDirectoryName(current))
        {
            if (Directory.Exists(current)) return null;
            if (File.Exists(current)) return current;
        }

        return null;
    }
}
