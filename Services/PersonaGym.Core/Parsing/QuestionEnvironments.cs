namespace PersonaGym.Core.Parsing;

/// <summary>
/// Which of a persona's environments a question is set in. The method writes each task's questions for all the
/// selected environments at once, so a question records none; it names its setting in its text instead ("In a
/// Classroom setting, …", as 86 % of the PersonaGym benchmark's questions name one of its 150). Read back from there,
/// for the reader of a persona's evidence.
/// </summary>
public static class QuestionEnvironments
{
    /// <summary>
    /// The environments of <paramref name="environments"/> that <paramref name="question"/> names, in the order it names
    /// them: whole words, case and hyphens aside, a plural allowed, and a parenthesised qualifier optional ("City Streets"
    /// names "City Streets (One-Way)"). A name inside another one named ("Library" in "Library Study Session") is left
    /// out. Empty when it names none.
    /// </summary>
    public static IReadOnlyList<string> Named(string question, IReadOnlyList<string> environments) => Matcher(environments)(question);

    /// <summary>
    /// <see cref="Named"/> for many questions of one persona: the environments' names are prepared once, not for every
    /// question.
    /// </summary>
    public static Func<string, IReadOnlyList<string>> Matcher(IReadOnlyList<string> environments)
    {
        var candidates = environments.Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(environment => (Environment: environment, Names: Names(environment).ToArray()))
            .Where(c => c.Names.Length > 0)
            .ToArray();
        return question =>
        {
            var text = Normalize(question);
            var found = new List<(string Environment, string Name, int At)>();
            foreach (var (environment, names) in candidates)
            {
                foreach (var name in names)
                {
                    if (FirstWordMatch(text, name) is { } at)
                    {
                        found.Add((environment, name, at));
                        break;
                    }
                }
            }

            return found
                .Where(f => !found.Any(o => o.Name.Length > f.Name.Length && FirstWordMatch(o.Name, f.Name) is not null))
                .OrderBy(f => f.At)
                .Select(f => f.Environment)
                .ToList();
        };
    }

    /// <summary>The name as written, then without a parenthesised qualifier.</summary>
    private static IEnumerable<string> Names(string environment)
    {
        var full = Normalize(environment);
        if (full.Length > 0) yield return full;
        var open = environment.IndexOf('(');
        if (open > 0 && Normalize(environment[..open]) is { Length: > 0 } bare && bare != full) yield return bare;
    }

    private static int? FirstWordMatch(string text, string name)
    {
        for (var at = text.IndexOf(name, StringComparison.Ordinal); at >= 0; at = text.IndexOf(name, at + 1, StringComparison.Ordinal))
        {
            var end = at + name.Length;
            // A plural ("weddings", "classes") still names the setting.
            if (end < text.Length && text[end] == 's' && (end + 1 == text.Length || !char.IsLetterOrDigit(text[end + 1]))) end++;
            else if (end + 1 < text.Length && text[end] == 'e' && text[end + 1] == 's' && (end + 2 == text.Length || !char.IsLetterOrDigit(text[end + 2]))) end += 2;
            var before = at == 0 || !char.IsLetterOrDigit(text[at - 1]);
            var after = end == text.Length || !char.IsLetterOrDigit(text[end]);
            if (before && after) return at;
        }

        return null;
    }

    /// <summary>Lower case, hyphens as spaces, runs of white space as one space.</summary>
    private static string Normalize(string text) =>
        string.Join(' ', text.ToLowerInvariant().Replace('-', ' ').Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
