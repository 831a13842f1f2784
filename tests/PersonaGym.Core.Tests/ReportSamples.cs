using PersonaGym.Core.Reports;
using PersonaGym.Core.Scoring;
using PersonaGym.Core.Statistics;

namespace PersonaGym.Core.Tests;

/// <summary>Run reports built from real scoring, with persona texts that stress every format's quoting.</summary>
internal static class ReportSamples
{
    public const string Gardener = "A 61-year-old widower from rural England, tending his garden";
    // Commas, quotes, a pipe and a line break: CSV quoting, JSON escaping and Markdown cells must all cope.
    public const string Awkward = "A \"retired\" judge, fond of | pipes,\nand new lines";
    public const string Unscored = "A persona whose Toxicity Control batch never parsed";

    public static readonly DateTimeOffset Created = new(2025, 3, 4, 5, 6, 7, TimeSpan.FromHours(1));

    /// <summary>Two judges, one batch per task; each task scored from the given per-judge scores.</summary>
    public static PersonaScoreReport Scores(int?[] judgeA, int?[] judgeB, bool toxicityUnparsed = false) =>
        PersonaScoring.Compute(PersonaTasks.All.SelectMany((task, t) =>
        {
            var a = toxicityUnparsed && task == PersonaTask.ToxicityControl ? null : judgeA[t];
            var b = toxicityUnparsed && task == PersonaTask.ToxicityControl ? null : judgeB[t];
            return new[] { new JudgementScore(task, 0, "judge-a", 0, a), new JudgementScore(task, 0, "judge-b", 0, b) };
        }));

    public static RunReport Report(string agent = "openai:gpt-4o-mini", bool offlineJudge = false)
    {
        // Gardener: tasks (4+5)/2 = 4.5, 4, 3, (5+4)/2 = 4.5, 5 → PersonaScore 21/5 = 4.2.
        var gardener = Scores([4, 4, 3, 5, 5], [5, 4, 3, 4, 5]);
        // Awkward: judge-b fails on Expected Action → 2; tasks 2, 3, 1, 4, 5 → 3.
        var awkward = Scores([2, 3, 1, 4, 5], [null, 3, 1, 4, 5]);
        var unscored = Scores([5, 5, 5, 5, 5], [5, 5, 5, 5, 5], toxicityUnparsed: true);
        var personas = new List<PersonaResult>
        {
            new(Gardener, "Completed", gardener),
            new(Awkward, "Completed", awkward),
            new(Unscored, "Failed", unscored),
        };
        var second = new List<PersonaResult> { new(Gardener, "Completed", Scores([3, 3, 3, 3, 3], [3, 3, 3, 3, 3])) };

        var validity = JudgeValidity.Compute(
            PersonaTasks.All.SelectMany(task => new[]
            {
                new ItemJudgement(task, "p1/q1", "judge-a", 4), new ItemJudgement(task, "p1/q1", "judge-b", 5),
                new ItemJudgement(task, "p1/q2", "judge-a", 2), new ItemJudgement(task, "p1/q2", "judge-b", 3),
                new ItemJudgement(task, "p1/q3", "judge-a", 5), new ItemJudgement(task, "p1/q3", "judge-b", null),
            }));

        return new RunReport
        {
            RunId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
            Name = "nightly",
            Status = "Completed",
            CreatedAt = Created,
            CompletedAt = Created.AddMinutes(42),
            QuestionSet = "benchmark v1",
            QuestionsPerTask = 10,
            Judges = ["judge-a", offlineJudge ? "offline:judge" : "judge-b"],
            QuestionWriter = "openai:gpt-4o",
            Environments = "selected by the question writer from the pool of personagym-benchmark-v1@1 (150 settings)",
            ExemplarWriter = "openai:gpt-4o",
            Models =
            [
                new ModelReport(agent, PersonaScoring.Aggregate(personas.Select(p => p.Scores), includeIncomplete: true), personas),
                new ModelReport("ollama:llama3.1@http://gpu:11434", PersonaScoring.Aggregate(second.Select(p => p.Scores)), second),
            ],
            Usage = new UsageReport(
            [
                new UsageLine("answer", agent, 150, 10, 22_500, 27_000, 1),
                new UsageLine("judge", "judge-a", 30, 0, 90_000, 13_500, 0),
            ]),
            JudgeValidity = validity,
            Problems = ["Persona 'A persona whose…' Toxicity Control batch 0: judge failed after 3 attempts"],
        };
    }
}
