using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using PersonaGym.Core.Prompts;

namespace PersonaGym.Core;

/// <summary>
/// One task's grading rubric: five anchored levels and the guidance for writing questions that probe the task.
/// <see cref="Version"/> is what a judgement records; it is the file's declared id plus a hash of its content,
/// so an edited rubric can never pass for the one it replaced.
/// </summary>
public sealed record TaskRubric(PersonaTask Task, string Version, IReadOnlyDictionary<int, string> Levels, string QuestionGuidance)
{
    /// <summary>One paragraph saying what the task measures.</summary>
    public string Description { get; init; } = "";

    /// <summary>The levels as readable lines ("Score 1: …"), the form prompts show.</summary>
    public string RenderLevels() =>
        string.Join('\n', Enumerable.Range(1, 5).Select(s => $"Score {s}: {PromptTemplate.OneLine(Levels[s])}"));
}

/// <summary>A method file (rubric, environment pool, prompt) that cannot be used, named by its path.</summary>
public sealed class MethodAssetsException(string file, string problem)
    : Exception($"{file}: {problem}")
{
    public string File { get; } = file;
    public string Problem { get; } = problem;
}

/// <summary>
/// The method's data: rubrics, environment pool and prompt templates. The defaults are embedded in this assembly;
/// an override folder with the same layout replaces any of the files it contains:
/// <c>environments.txt</c>, <c>rubrics/&lt;task-slug&gt;.md</c>, <c>prompts/&lt;name&gt;.md</c>.
/// </summary>
public sealed class MethodAssets
{
    public const string EnvironmentsFile = "environments.txt";
    private const string ResourcePrefix = "PersonaGym.Resources/";

    private readonly Dictionary<PersonaTask, TaskRubric> _rubrics;
    private readonly Dictionary<string, PromptTemplate> _prompts;

    private MethodAssets(
        IReadOnlyList<string> environments,
        Dictionary<PersonaTask, TaskRubric> rubrics,
        Dictionary<string, PromptTemplate> prompts,
        string? overrideFolder,
        IReadOnlyList<string> overriddenFiles)
    {
        Environments = environments;
        _rubrics = rubrics;
        _prompts = prompts;
        OverrideFolder = overrideFolder;
        OverriddenFiles = overriddenFiles;
    }

    /// <summary>The environment pool (paper: 150 settings), in file order.</summary>
    public IReadOnlyList<string> Environments { get; }

    /// <summary>The folder files were taken from, or null when everything is the embedded default.</summary>
    public string? OverrideFolder { get; }

    /// <summary>Relative paths ("rubrics/expected-action.md") that came from the override folder.</summary>
    public IReadOnlyList<string> OverriddenFiles { get; }

    public TaskRubric Rubric(PersonaTask task) => _rubrics[task];

    /// <summary>A prompt template by name (see <see cref="PromptNames"/>).</summary>
    public PromptTemplate Prompt(string name) =>
        _prompts.TryGetValue(name, out var template)
            ? template
            : throw new ArgumentException($"Unknown prompt '{name}'. Known: {string.Join(", ", PromptNames.All)}.", nameof(name));

    public static string RubricFile(PersonaTask task) => $"rubrics/{task.Slug()}.md";

    public static string PromptFile(string name) => $"prompts/{name}.md";

    public static MethodAssets LoadDefault() => Load(null);

    /// <summary>Loads the embedded defaults, each replaced by the override folder's file of the same path when present.</summary>
    /// <exception cref="MethodAssetsException">the folder is missing, or one of its files is malformed (the message names it).</exception>
    public static MethodAssets Load(string? overrideFolder)
    {
        string? root = null;
        if (overrideFolder is not null)
        {
            root = Path.GetFullPath(overrideFolder);
            if (!Directory.Exists(root)) throw new MethodAssetsException(root, "the method override folder does not exist");
            RejectUnknownFiles(root);
        }

        var overridden = new List<string>();
        string Read(string relativePath)
        {
            if (root is not null)
            {
                var path = Path.Combine(root, relativePath.Replace('/', Path.DirectorySeparatorChar));
                if (File.Exists(path))
                {
                    overridden.Add(relativePath);
                    return File.ReadAllText(path);
                }
            }
            return ReadEmbedded(relativePath);
        }

        string Where(string relativePath) =>
            root is not null && overridden.Contains(relativePath)
                ? Path.Combine(root, relativePath.Replace('/', Path.DirectorySeparatorChar))
                : $"(embedded) {relativePath}";

        var environments = ParseEnvironments(Read(EnvironmentsFile), Where(EnvironmentsFile));

        var rubrics = new Dictionary<PersonaTask, TaskRubric>();
        foreach (var task in PersonaTasks.All)
        {
            var file = RubricFile(task);
            rubrics[task] = RubricFileFormat.Parse(task, Read(file), Where(file));
        }

        var prompts = new Dictionary<string, PromptTemplate>(StringComparer.Ordinal);
        foreach (var name in PromptNames.All)
        {
            var file = PromptFile(name);
            prompts[name] = ParsePrompt(name, Read(file), Where(file));
        }

        return new MethodAssets(environments, rubrics, prompts, root, overridden);
    }

    internal static IReadOnlyList<string> ParseEnvironments(string text, string file)
    {
        var names = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var name = PromptTemplate.OneLine(line);
            if (name.Length > 100) throw new MethodAssetsException(file, $"line {lineNumber}: an environment name is longer than 100 characters");
            if (seen.TryGetValue(name, out var first))
                throw new MethodAssetsException(file, $"line {lineNumber}: '{name}' repeats line {first}");
            seen[name] = lineNumber;
            names.Add(name);
        }
        if (names.Count == 0) throw new MethodAssetsException(file, "the environment pool is empty (one name per line, '#' starts a comment)");
        return names;
    }

    internal static PromptTemplate ParsePrompt(string name, string text, string file)
    {
        var template = new PromptTemplate(name, text.Trim());
        var allowed = PromptNames.Placeholders(name);
        var unknown = template.Placeholders.Where(p => !allowed.Contains(p)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new MethodAssetsException(file,
                $"unknown placeholder {string.Join(", ", unknown.Select(u => "{{" + u + "}}"))}; this prompt can use {string.Join(", ", allowed.Select(a => "{{" + a + "}}"))}");
        }
        var missing = PromptNames.RequiredPlaceholders(name).Where(p => !template.Placeholders.Contains(p)).ToList();
        if (missing.Count > 0)
        {
            throw new MethodAssetsException(file,
                $"the prompt must contain {string.Join(", ", missing.Select(m => "{{" + m + "}}"))}");
        }
        return template;
    }

    private static void RejectUnknownFiles(string root)
    {
        // A misspelt override would otherwise be ignored without a word and the default used instead.
        var known = new HashSet<string>(StringComparer.Ordinal) { EnvironmentsFile };
        foreach (var task in PersonaTasks.All) known.Add(RubricFile(task));
        foreach (var name in PromptNames.All) known.Add(PromptFile(name));
        foreach (var folder in new[] { "rubrics", "prompts" })
        {
            var directory = Path.Combine(root, folder);
            if (!Directory.Exists(directory)) continue;
            foreach (var path in Directory.EnumerateFiles(directory, "*.md"))
            {
                var relative = $"{folder}/{Path.GetFileName(path)}";
                if (!known.Contains(relative))
                    throw new MethodAssetsException(path, $"not a method file; expected one of {string.Join(", ", known.Where(k => k.StartsWith(folder + "/", StringComparison.Ordinal)))}");
            }
        }
    }

    private static string ReadEmbedded(string relativePath)
    {
        var assembly = typeof(MethodAssets).Assembly;
        // RecursiveDir uses the build machine's separator; accept both.
        var resource = assembly.GetManifestResourceNames()
            .FirstOrDefault(n => n.Replace('\\', '/') == ResourcePrefix + relativePath)
            ?? throw new MethodAssetsException($"(embedded) {relativePath}", "missing from the PersonaGym.Core assembly");
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    internal static string ShortHash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\n"))))[..8];
}

/// <summary>The prompt templates under <c>prompts/</c> and the placeholders each may use.</summary>
public static class PromptNames
{
    public const string SelectEnvironments = "select-environments";
    public const string GenerateQuestions = "generate-questions";
    public const string PersonaSystem = "persona-system";
    public const string WriteExemplars = "write-exemplars";
    public const string Judge = "judge";
    public const string JudgeSystem = "judge-system";
    public const string Retry = "retry";
    public const string FollowUp = "follow-up";

    public static IReadOnlyList<string> All { get; } =
        [SelectEnvironments, GenerateQuestions, PersonaSystem, WriteExemplars, Judge, JudgeSystem, Retry, FollowUp];

    public static IReadOnlyList<string> Placeholders(string name) => name switch
    {
        SelectEnvironments => ["persona", "environment_pool", "pool_size"],
        GenerateQuestions => ["persona", "task", "task_description", "question_guidance", "environments", "count"],
        PersonaSystem => ["persona"],
        WriteExemplars => ["persona", "task", "task_description", "rubric", "questions", "question_count"],
        Judge => ["persona", "task", "task_description", "rubric", "items", "item_count"],
        JudgeSystem => [],
        Retry => ["reason"],
        FollowUp => ["missing", "reasons", "layout"],
        _ => throw new ArgumentException($"Unknown prompt '{name}'.", nameof(name)),
    };

    /// <summary>Without these a prompt cannot do its job (a judge prompt that never shows the answers, …).</summary>
    public static IReadOnlyList<string> RequiredPlaceholders(string name) => name switch
    {
        SelectEnvironments => ["persona", "environment_pool"],
        GenerateQuestions => ["persona", "environments", "count"],
        PersonaSystem => ["persona"],
        WriteExemplars => ["persona", "rubric", "questions"],
        Judge => ["persona", "rubric", "items"],
        JudgeSystem => [],
        Retry => ["reason"],
        FollowUp => ["missing"],
        _ => throw new ArgumentException($"Unknown prompt '{name}'.", nameof(name)),
    };
}
