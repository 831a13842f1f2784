namespace PersonaGym.Core.Benchmark;

/// <summary>One benchmark persona and its stored questions.</summary>
/// <param name="Questions">Per task, the questions in file order. A read result always has all five tasks.</param>
public sealed record BenchmarkPersona(string Persona, IReadOnlyDictionary<PersonaTask, IReadOnlyList<string>> Questions);

/// <summary>One thing wrong with a benchmark directory.</summary>
/// <param name="Location">The file, relative to the benchmark directory, and where useful the key and index ("questions/x.json: Toxicity[3]").</param>
public sealed record BenchmarkIssue(string Location, string Message)
{
    public override string ToString() => $"{Location}: {Message}";
}

/// <summary>
/// What <see cref="BenchmarkFormat.Read"/> found. <see cref="Personas"/> holds whatever could be read (personas whose
/// question file parsed, with their well-formed questions); run a benchmark from it only when <see cref="IsValid"/>.
/// </summary>
/// <param name="Environments">The environment pool, or null when the directory has no environments.json (it is optional).</param>
public sealed record BenchmarkReadResult(
    IReadOnlyList<BenchmarkPersona> Personas,
    IReadOnlyList<string>? Environments,
    IReadOnlyList<BenchmarkIssue> Issues)
{
    public bool IsValid => Issues.Count == 0;
}
