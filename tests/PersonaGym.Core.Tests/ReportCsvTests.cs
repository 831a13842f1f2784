using PersonaGym.Core.Reports;

namespace PersonaGym.Core.Tests;

public class ReportCsvTests
{
    [Fact]
    public void Plain_fields_split_on_commas()
    {
        var record = Assert.Single(Csv.Parse("a,b,c"));

        Assert.Equal(["a", "b", "c"], record.Fields);
        Assert.Equal(1, record.Line);
        Assert.Null(record.Error);
    }

    [Fact]
    public void Quoted_fields_hold_commas_doubled_quotes_and_line_breaks()
    {
        var records = Csv.Parse("\"a, b\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\nnext,row\r\n");

        Assert.Equal(["a, b", "say \"hi\"", "two\r\nlines"], records[0].Fields);
        Assert.Equal(["next", "row"], records[1].Fields);
        Assert.Equal(2, records.Count);
    }

    [Fact]
    public void Line_numbers_count_breaks_inside_quoted_fields()
    {
        var records = Csv.Parse("h1,h2\n\"x\ny\nz\",1\nlast,2");

        Assert.Equal([1, 2, 5], records.Select(r => r.Line));
    }

    [Theory]
    [InlineData("a,b\nc,d\n")]
    [InlineData("a,b\r\nc,d\r\n")]
    [InlineData("a,b\rc,d")]
    [InlineData("\uFEFFa,b\n\n\nc,d")]
    public void Line_ends_byte_order_mark_and_blank_lines_do_not_change_the_records(string text)
    {
        var records = Csv.Parse(text);

        Assert.Equal([["a", "b"], ["c", "d"]], records.Select(r => r.Fields));
    }

    [Fact]
    public void Empty_fields_are_kept_including_a_trailing_one()
    {
        Assert.Equal(["", "b", ""], Assert.Single(Csv.Parse(",b,")).Fields);
        Assert.Equal(["", ""], Assert.Single(Csv.Parse("\"\",\n")).Fields);
    }

    [Fact]
    public void An_unclosed_quote_is_an_error_not_an_exception()
    {
        var record = Assert.Single(Csv.Parse("a,\"never closed\nb,c"));

        Assert.Contains("not closed", record.Error);
        Assert.Equal(["a", "never closed\nb,c"], record.Fields);
    }

    [Fact]
    public void Text_after_a_closing_quote_is_an_error_for_that_record_only()
    {
        var records = Csv.Parse("\"a\"b,c\nd,e");

        Assert.Contains("after the closing quote of field 1", records[0].Error);
        Assert.Equal(["ab", "c"], records[0].Fields);
        Assert.Null(records[1].Error);
    }

    [Fact]
    public void A_quote_inside_an_unquoted_field_is_an_error()
    {
        var record = Assert.Single(Csv.Parse("a,b\"c"));

        Assert.Contains("quote inside unquoted field 2", record.Error);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("", "")]
    [InlineData(null, "")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("cr\ronly", "\"cr\ronly\"")]
    [InlineData(" padded ", "\" padded \"")]
    public void Fields_are_quoted_only_when_needed(string? value, string expected)
    {
        Assert.Equal(expected, Csv.FormatField(value));
    }

    [Fact]
    public void A_written_table_reads_back_unchanged()
    {
        string[][] table =
        [
            ["persona", "task", "question", "score"],
            ["A \"quoted\", comma'd persona", "Expected Action", "Line one\r\nline two\nline three", "4.5"],
            ["", " edge ", "\"", ","],
        ];

        var text = Csv.FormatTable(table);
        var records = Csv.Parse(text);

        Assert.EndsWith("\r\n", text);
        Assert.Equal(table, records.Select(r => r.Fields.ToArray()));
        Assert.All(records, r => Assert.Null(r.Error));
    }

    [Fact]
    public void A_record_of_one_empty_field_survives_a_round_trip()
    {
        var records = Csv.Parse(Csv.FormatTable([["a"], [""], ["b"]]));

        Assert.Equal([["a"], [""], ["b"]], records.Select(r => r.Fields.ToArray()));
    }
}
