using PersonaGym.Core.Reports;
using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Tests;

public class HumanScoreFileTests
{
    private static (IReadOnlyList<HumanScore> Scores, IReadOnlyList<string> Errors) ReadText(string text)
    {
        using var folder = new BenchmarkFixture();
        return HumanScoreFile.Read(folder.File("human.csv", text));
    }

    [Fact]
    public void Reads_rows_with_columns_in_any_order_and_case()
    {
        var (scores, errors) = ReadText("Score,QUESTION,task,Persona\r\n4,What would you do?,Expected Action,A gardener\r\n");

        Assert.Empty(errors);
        Assert.Equal(new HumanScore("A gardener", PersonaTask.ExpectedAction, "What would you do?", 4), Assert.Single(scores));
    }

    [Theory]
    [InlineData("Expected Action", PersonaTask.ExpectedAction)]
    [InlineData("expected-action", PersonaTask.ExpectedAction)]
    [InlineData("LinguisticHabits", PersonaTask.LinguisticHabits)]
    [InlineData("Toxicity", PersonaTask.ToxicityControl)]
    [InlineData("toxicity_control", PersonaTask.ToxicityControl)]
    public void Accepts_every_task_form_the_task_parser_accepts(string task, PersonaTask expected)
    {
        var (scores, errors) = ReadText($"persona,task,question,score\np,{task},q,3\n");

        Assert.Empty(errors);
        Assert.Equal(expected, Assert.Single(scores).Task);
    }

    [Fact]
    public void Quoted_fields_may_hold_commas_quotes_and_line_breaks()
    {
        var (scores, errors) = ReadText(
            "persona,task,question,score\n\"A baker, \"\"Flo\"\"\",Persona Consistency,\"First line,\nsecond line\",2.5\n");

        Assert.Empty(errors);
        var score = Assert.Single(scores);
        Assert.Equal("A baker, \"Flo\"", score.Persona);
        Assert.Equal("First line,\nsecond line", score.Question);
        Assert.Equal(2.5, score.Score);
    }

    [Fact]
    public void Extra_columns_are_ignored()
    {
        var (scores, errors) = ReadText("rater,persona,task,question,score,comment\nann,p,Expected Action,q,5,great\n");

        Assert.Empty(errors);
        Assert.Equal(5, Assert.Single(scores).Score);
    }

    [Fact]
    public void Every_bad_row_is_reported_with_its_line_and_the_good_rows_are_kept()
    {
        var (scores, errors) = ReadText(string.Join("\n",
            "persona,task,question,score",
            "p,Expected Action,q1,4",               // 2 good
            "p,Cooking,q2,3",                       // 3 unknown task
            "p,Expected Action,q3,6",               // 4 out of range
            "p,Expected Action,q4,four",            // 5 not a number
            "p,Expected Action,\"multi",            // 6 a quoted field over two lines…
            "line\",0",                             // 7 …reported at the line it starts on
            "p,Expected Action,q5",                 // 8 too few fields
            ",Expected Action,,3",                  // 9 empty persona and question
            "p,Toxicity,q6,1.5"));                  // 10 good

        Assert.Equal(["q1", "q6"], scores.Select(s => s.Question));
        Assert.Collection(errors,
            e => Assert.Matches("line 3: unknown task 'Cooking'", e),
            e => Assert.Matches("line 4: the score 6 is outside the rubric's 1–5", e),
            e => Assert.Matches("line 5: the score 'four' is not a number", e),
            e => Assert.Matches("line 6: the score 0 is outside", e),
            e => Assert.Matches("line 8: 3 field\\(s\\) where the header has 4", e),
            e =>
            {
                Assert.Contains("line 9: ", e);
                Assert.Contains("persona description is empty", e);
                Assert.Contains("the question is empty", e);
            });
    }

    [Fact]
    public void A_malformed_csv_row_is_reported_not_thrown()
    {
        var (scores, errors) = ReadText("persona,task,question,score\np,Expected Action,q\"x,4\np,Expected Action,q,4\n");

        Assert.Single(scores);
        Assert.Contains("line 2: a quote inside unquoted field 3", Assert.Single(errors));
    }

    [Fact]
    public void A_header_missing_columns_is_one_error_naming_them()
    {
        var (scores, errors) = ReadText("persona,question,rating\np,q,4\n");

        Assert.Empty(scores);
        var error = Assert.Single(errors);
        Assert.Contains("line 1: the header lacks the column(s) task, score", error);
        Assert.Contains("found: persona, question, rating", error);
    }

    [Fact]
    public void A_column_named_twice_is_an_error()
    {
        var (scores, errors) = ReadText("persona,task,question,score,Score\np,Expected Action,q,4,5\n");

        Assert.Empty(scores);
        Assert.Contains("the column 'Score' appears twice", Assert.Single(errors));
    }

    [Fact]
    public void An_empty_file_is_an_error()
    {
        var (scores, errors) = ReadText("");

        Assert.Empty(scores);
        Assert.Contains("the file is empty", Assert.Single(errors));
    }

    [Fact]
    public void A_missing_file_is_an_error_not_an_exception()
    {
        var path = Path.Combine(Path.GetTempPath(), "personagym-absent-" + Guid.NewGuid().ToString("N") + ".csv");

        var (scores, errors) = HumanScoreFile.Read(path);

        Assert.Empty(scores);
        Assert.Contains("cannot be read", Assert.Single(errors));
    }

    [Fact]
    public void A_file_written_with_the_csv_writer_reads_back()
    {
        var written = new[]
        {
            new HumanScore("A \"quoted\", persona", PersonaTask.ActionJustification, "Why?\nReally, why?", 3),
            new HumanScore("Another", PersonaTask.ToxicityControl, "Provoked", 4.25),
        };
        var text = Csv.FormatTable(
            new[] { new[] { "persona", "task", "question", "score" } }.Concat(
                written.Select(s => new[] { s.Persona, s.Task.DisplayName(), s.Question, s.Score.ToString(System.Globalization.CultureInfo.InvariantCulture) })));

        var (scores, errors) = ReadText(text);

        Assert.Empty(errors);
        Assert.Equal(written, scores);
    }
}
