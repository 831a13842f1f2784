using System.Text;

namespace PersonaGym.Core.Reports;

/// <summary>One CSV record and the line of the file it starts on (1-based).</summary>
/// <param name="Error">Why the record is malformed (it still holds what could be read), or null.</param>
public sealed record CsvRecord(int Line, IReadOnlyList<string> Fields, string? Error = null);

/// <summary>
/// RFC 4180 CSV: fields separated by commas, records by CRLF (LF and a lone CR are accepted on reading), a field
/// that holds a comma, a quote or a line break is enclosed in double quotes with each quote doubled. Reading never
/// throws on content: a malformed record carries its <see cref="CsvRecord.Error"/> and reading goes on.
/// </summary>
public static class Csv
{
    public const string RecordSeparator = "\r\n";

    /// <summary>
    /// Splits a CSV text into records. A leading byte-order mark is dropped, blank lines are skipped (RFC 4180 would
    /// read them as one empty field, which is never a useful row), and a final line break is optional.
    /// </summary>
    public static IReadOnlyList<CsvRecord> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var records = new List<CsvRecord>();
        var position = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        var line = 1;
        while (position < text.Length)
        {
            if (IsLineBreak(text, position, out var blankBreak))
            {
                position += blankBreak;
                line++;
                continue;
            }

            var startLine = line;
            var fields = new List<string>();
            string? error = null;
            var field = new StringBuilder();
            var endOfRecord = false;
            while (!endOfRecord)
            {
                field.Clear();
                if (position < text.Length && text[position] == '"')
                {
                    // A quoted field: runs to the next lone quote; doubled quotes are one quote; line breaks are data.
                    position++;
                    var closed = false;
                    while (position < text.Length)
                    {
                        var c = text[position];
                        if (c == '"')
                        {
                            if (position + 1 < text.Length && text[position + 1] == '"') { field.Append('"'); position += 2; continue; }
                            position++;
                            closed = true;
                            break;
                        }
                        if (IsLineBreak(text, position, out var inner))
                        {
                            field.Append(text, position, inner);
                            position += inner;
                            line++;
                            continue;
                        }
                        field.Append(c);
                        position++;
                    }
                    if (!closed)
                    {
                        error ??= "a quoted field is not closed before the end of the file";
                    }
                    else if (position < text.Length && text[position] != ',' && !IsLineBreak(text, position, out _))
                    {
                        // RFC 4180 allows nothing between the closing quote and the separator; keep the text, flag the record.
                        error ??= $"text after the closing quote of field {fields.Count + 1}";
                        while (position < text.Length && text[position] != ',' && !IsLineBreak(text, position, out _))
                            field.Append(text[position++]);
                    }
                }
                else
                {
                    while (position < text.Length && text[position] != ',' && !IsLineBreak(text, position, out _))
                    {
                        if (text[position] == '"')
                            error ??= $"a quote inside unquoted field {fields.Count + 1} (enclose the field in quotes and double the quote)";
                        field.Append(text[position++]);
                    }
                }

                fields.Add(field.ToString());
                if (position >= text.Length)
                {
                    endOfRecord = true;
                }
                else if (text[position] == ',')
                {
                    position++;
                }
                else if (IsLineBreak(text, position, out var length))
                {
                    position += length;
                    line++;
                    endOfRecord = true;
                }
            }
            records.Add(new CsvRecord(startLine, fields, error));
        }
        return records;
    }

    /// <summary>One field as RFC 4180 writes it: quoted only when it holds a comma, a quote, a line break or edge spaces.</summary>
    public static string FormatField(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        var needsQuotes = value.AsSpan().IndexOfAny(",\"\r\n") >= 0
                          // Many readers trim unquoted fields; quoting keeps edge spaces exactly.
                          || char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]);
        return needsQuotes ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }

    /// <summary>One record, without its line break.</summary>
    public static string FormatRecord(IEnumerable<string?> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var formatted = fields.Select(FormatField).ToList();
        // A record of one empty field would be a blank line, which readers (this one included) skip: quote it.
        return formatted is [""] ? "\"\"" : string.Join(",", formatted);
    }

    /// <summary>A whole table: every record followed by CRLF (RFC 4180's record separator).</summary>
    public static string FormatTable(IEnumerable<IEnumerable<string?>> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var text = new StringBuilder();
        foreach (var record in records) text.Append(FormatRecord(record)).Append(RecordSeparator);
        return text.ToString();
    }

    private static bool IsLineBreak(string text, int position, out int length)
    {
        length = 0;
        if (text[position] == '\n') length = 1;
        else if (text[position] == '\r') length = position + 1 < text.Length && text[position + 1] == '\n' ? 2 : 1;
        return length > 0;
    }
}
