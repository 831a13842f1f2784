using System.Text;
using System.Text.RegularExpressions;

namespace PersonaGym.Core;

/// <summary>
/// Reads a rubric file: a <c>version: &lt;id&gt;</c> line, an optional <c># Title</c> followed by a description
/// paragraph, then the sections <c>## Question guidance</c> and <c>## Score 1</c> … <c>## Score 5</c>.
/// </summary>
internal static partial class RubricFileFormat
{
    public static TaskRubric Parse(PersonaTask task, string text, string file)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        string? declaredVersion = null;
        var description = new StringBuilder();
        var sections = new Dictionary<string, StringBuilder>(StringComparer.OrdinalIgnoreCase);
        StringBuilder? current = null;

        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.Trim();
            if (declaredVersion is null)
            {
                if (trimmed.Length == 0) continue;
                var versionLine = VersionLine().Match(trimmed);
                if (!versionLine.Success) throw new MethodAssetsException(file, $"line {i + 1}: the file must start with 'version: <id>', e.g. 'version: {task.Slug()}@1'");
                declaredVersion = versionLine.Groups[1].Value;
                continue;
            }
            if (trimmed.StartsWith("## ", StringComparison.Ordinal))
            {
                var heading = PromptsOneLine(trimmed[3..]);
                if (!IsKnownSection(heading))
                    throw new MethodAssetsException(file, $"line {i + 1}: unknown section '## {heading}'; expected '## Question guidance' or '## Score 1' … '## Score 5'");
                if (sections.ContainsKey(heading)) throw new MethodAssetsException(file, $"line {i + 1}: section '## {heading}' appears twice");
                current = sections[heading] = new StringBuilder();
                continue;
            }
            if (current is null)
            {
                if (!trimmed.StartsWith('#')) description.AppendLine(line);
                continue;
            }
            current.AppendLine(line);
        }

        if (declaredVersion is null) throw new MethodAssetsException(file, "the file is empty");

        string Section(string heading)
        {
            if (!sections.TryGetValue(heading, out var body)) throw new MethodAssetsException(file, $"missing section '## {heading}'");
            var content = body.ToString().Trim();
            if (content.Length == 0) throw new MethodAssetsException(file, $"section '## {heading}' is empty");
            return content;
        }

        var levels = new Dictionary<int, string>();
        for (var score = 1; score <= 5; score++) levels[score] = Section($"Score {score}");
        var guidance = Section("Question guidance");
        var version = $"{declaredVersion}:{MethodAssets.ShortHash(text)}";
        return new TaskRubric(task, version, levels, guidance) { Description = description.ToString().Trim() };
    }

    private static bool IsKnownSection(string heading) =>
        heading.Equals("Question guidance", StringComparison.OrdinalIgnoreCase) || ScoreHeading().IsMatch(heading);

    private static string PromptsOneLine(string text) => Prompts.PromptTemplate.OneLine(text);

    [GeneratedRegex(@"^version\s*:\s*(\S+)$", RegexOptions.IgnoreCase)]
    private static partial Regex VersionLine();

    [GeneratedRegex(@"^Score [1-5]$", RegexOptions.IgnoreCase)]
    private static partial Regex ScoreHeading();
}
