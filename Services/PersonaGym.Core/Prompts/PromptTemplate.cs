using System.Text;
using System.Text.RegularExpressions;

namespace PersonaGym.Core.Prompts;

/// <summary>
/// A prompt held as text with <c>{{placeholder}}</c> slots. Rendering fails loudly on a slot without a value,
/// so a renamed placeholder can never silently send a model a prompt with a hole in it.
/// </summary>
public sealed partial class PromptTemplate
{
    public PromptTemplate(string name, string text)
    {
        Name = name;
        Text = text;
        Placeholders = PlaceholderPattern().Matches(text).Select(m => m.Groups[1].Value)
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The template's file name without extension ("judge").</summary>
    public string Name { get; }

    public string Text { get; }

    /// <summary>The distinct placeholder names the text uses.</summary>
    public IReadOnlySet<string> Placeholders { get; }

    /// <summary>Replaces every placeholder; values may contain braces, they are never re-scanned.</summary>
    /// <exception cref="PromptTemplateException">a placeholder has no value.</exception>
    public string Render(IReadOnlyDictionary<string, string> values)
    {
        var missing = Placeholders.Where(p => !values.ContainsKey(p)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new PromptTemplateException(
                $"Prompt template '{Name}' needs a value for {string.Join(", ", missing.Select(m => "{{" + m + "}}"))}.");
        }
        return PlaceholderPattern().Replace(Text, m => values[m.Groups[1].Value]);
    }

    /// <summary>Numbered lines ("1. Wedding"), the readable way every prompt lists things.</summary>
    public static string NumberedLines(IEnumerable<string> items)
    {
        var builder = new StringBuilder();
        var number = 1;
        foreach (var item in items)
        {
            if (number > 1) builder.Append('\n');
            builder.Append(number++).Append(". ").Append(OneLine(item));
        }
        return builder.ToString();
    }

    /// <summary>Folds line breaks and runs of white space into single spaces: a prompt's list entry or a report's table cell stays on one line.</summary>
    public static string OneLine(string text) =>
        string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    [GeneratedRegex(@"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")]
    private static partial Regex PlaceholderPattern();
}

public sealed class PromptTemplateException(string message) : Exception(message);
