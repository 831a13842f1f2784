using PersonaGym.Core;

namespace PersonaGym.Data.Tests;

/// <summary>
/// A small stored run: one question set with one persona, two tasks × one batch of two questions, two agents,
/// two judges, every answer judged by both judges; the second judge could not parse its last verdict.
/// </summary>
public sealed class TestRun
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public Run Run { get; }
    public Persona Persona { get; }
    public QuestionSet QuestionSet { get; }
    public QuestionSetPersona QuestionSetPersona { get; }
    public RunPersona RunPersona { get; }
    public RunModel AgentA { get; }
    public RunModel AgentB { get; }
    public RunModel JudgeX { get; }
    public RunModel JudgeY { get; }
    public List<QuestionBatch> Batches { get; } = [];
    public List<Question> Questions { get; } = [];
    public List<Answer> Answers { get; } = [];
    public List<Judgement> Judgements { get; } = [];
    public List<BatchWork> Work { get; } = [];

    public static readonly PersonaTask[] Tasks = [PersonaTask.ExpectedAction, PersonaTask.ToxicityControl];

    public TestRun(string name = "test run", DateTimeOffset? createdAt = null, string personaText = "A retired lighthouse keeper from Maine")
    {
        var at = createdAt ?? Start;
        QuestionSet = new QuestionSet { Name = name, Version = "1", Source = QuestionSetSource.Generated, CreatedAt = at };
        Persona = Persona.FromDescription(personaText, at);
        QuestionSetPersona = new QuestionSetPersona
        {
            QuestionSet = QuestionSet, Persona = Persona, Status = QuestionSetPersonaStatus.Ready,
            Environments = ["Harbor", "Storm"], UpdatedAt = at,
        };
        Run = new Run
        {
            Name = name, CreatedAt = at, UpdatedAt = at, Status = RunStatus.Running, QuestionSet = QuestionSet,
            QuestionWriterSpec = "offline:writer", ExemplarWriterSpec = "offline:writer", BatchSize = 2, QuestionsPerTask = 2,
            UsesOfflineModels = true,
        };
        AgentA = new RunModel { Run = Run, Role = RunModelRole.Agent, Spec = "offline:agent-a", Ordinal = 0 };
        AgentB = new RunModel { Run = Run, Role = RunModelRole.Agent, Spec = "offline:agent-b", Ordinal = 1 };
        JudgeX = new RunModel { Run = Run, Role = RunModelRole.Judge, Spec = "offline:judge-x", Ordinal = 0 };
        JudgeY = new RunModel { Run = Run, Role = RunModelRole.Judge, Spec = "offline:judge-y", Ordinal = 1 };
        RunPersona = new RunPersona
        {
            Run = Run, Persona = Persona, QuestionSetPersona = QuestionSetPersona, Status = RunPersonaStatus.Answering, UpdatedAt = at,
        };

        foreach (var task in Tasks)
        {
            var batch = new QuestionBatch { QuestionSetPersona = QuestionSetPersona, Task = task, BatchIndex = 0 };
            Batches.Add(batch);
            for (var ordinal = 0; ordinal < 2; ordinal++)
            {
                Questions.Add(new Question
                {
                    QuestionSetPersona = QuestionSetPersona, Batch = batch, Task = task, Ordinal = ordinal,
                    Text = $"{task} question {ordinal}", Source = QuestionSource.Generated,
                });
            }
        }

        foreach (var agent in new[] { AgentA, AgentB })
        {
            foreach (var batch in Batches)
            {
                Work.Add(new BatchWork
                {
                    Run = Run, RunPersona = RunPersona, Batch = batch, Agent = agent, LastProgressAt = at,
                    Stage = agent == AgentA ? BatchStage.Done : BatchStage.Judging,
                });
            }
            foreach (var question in Questions)
            {
                var answer = new Answer { Run = Run, Question = question, Agent = agent, Text = "An answer.", LatencyMs = 10, CreatedAt = at };
                Answers.Add(answer);
                foreach (var judge in new[] { JudgeX, JudgeY })
                {
                    var lastItem = question == Questions[^1];
                    var score = judge == JudgeY && lastItem ? (int?)null : ScoreFor(agent, judge, question);
                    Judgements.Add(new Judgement
                    {
                        Run = Run, Answer = answer, Judge = judge, ItemIndex = question.Ordinal, Score = score,
                        ParseFailure = score is null ? "no final score sentence" : null,
                        RawText = "Reasoning. Therefore, the final score is " + (score?.ToString() ?? "unclear"),
                        RubricVersion = "v1", CreatedAt = at,
                    });
                }
            }
        }
    }

    /// <summary>A distinct, predictable score per agent, judge and question.</summary>
    public int ScoreFor(RunModel agent, RunModel judge, Question question) =>
        1 + (agent.Ordinal * 2 + judge.Ordinal + question.Ordinal + (int)question.Task) % 5;

    public void AddTo(PersonaGymDbContext db)
    {
        db.AddRange(Run, AgentA, AgentB, JudgeX, JudgeY, RunPersona);
        db.AddRange(Questions);
        db.AddRange(Work);
        db.AddRange(Answers);
        db.AddRange(Judgements);
    }
}
