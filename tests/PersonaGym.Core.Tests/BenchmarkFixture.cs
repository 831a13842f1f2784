using PersonaGym.Core.Benchmark;

namespace PersonaGym.Core.Tests;

/// <summary>A temporary benchmark directory, deleted on dispose.</summary>
internal sealed class BenchmarkFixture : IDisposable
{
    public BenchmarkFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "personagym-benchmark-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    /// <summary>The environment variable naming a full copy of the original benchmark.</summary>
    public const string SharedBenchmarkVariable = "PERSONAGYM_BENCHMARK_DIR";

    public static string? SharedBenchmarkDirectory =>
        Environment.GetEnvironmentVariable(SharedBenchmarkVariable) is { Length: > 0 } dir ? dir : null;

    public string File(string relativePath, string content)
    {
        var path = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public static BenchmarkPersona Persona(string text, int questionsPerTask = 2) => new(
        text,
        PersonaTasks.All.ToDictionary(
            t => t,
            t => (IReadOnlyList<string>)Enumerable.Range(1, questionsPerTask)
                .Select(i => $"{t.DisplayName()} question {i} for {text}?").ToList()));

    /// <summary>A question file body with every key, each holding one distinct question.</summary>
    public static string QuestionsJson(string tag) =>
        "{" + string.Join(",", PersonaTasks.All.Select(t => $"\"{t.BenchmarkKey()}\": [\"{t.Slug()} {tag}?\"]")) + "}";

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}
