using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PersonaGym.Data;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Pipeline.Tests.Support;
using PersonaGym.Testing;

namespace PersonaGym.Pipeline.Tests;

/// <summary>Each process reports its models' current concurrency limits, so the Api and <c>show</c> can read them from the database.</summary>
[Collection(PostgresServer.Collection)]
public sealed class ModelConcurrencyReportTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_running_host_reports_the_limit_of_each_model_it_called_and_the_run_summary_shows_it()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup
        {
            Settings = new Dictionary<string, string?> { ["PersonaGym:Pipeline:ConcurrencyReportInterval"] = "00:00:00.100" },
        });
        var runId = await pipeline.SubmitAsync(TestRuns.Request(personas: 1, agents: 1, judges: 1, questionsPerTask: 1));
        await pipeline.WaitForRunAsync(runId);

        RunSummary? summary = null;
        await Wait.UntilAsync(async () =>
        {
            await using var db = pipeline.NewContext();
            summary = await db.RunSummaryAsync(runId);
            // Every model under test and judge, by name: the exemplar writer's report may come before a judge's.
            var reported = summary!.Concurrency.Select(c => c.Model).ToHashSet();
            return summary.Agents.Concat(summary.Judges).All(reported.Contains);
        }, "the host reported every model of the run");

        Assert.Contains(summary!.Agents[0], summary.Concurrency.Select(c => c.Model));
        Assert.Contains(summary.Judges[0], summary.Concurrency.Select(c => c.Model));
        Assert.All(summary.Concurrency, c =>
        {
            Assert.True(c.Limit >= 1, $"{c.Model} reported limit {c.Limit}");
            Assert.Equal(1, c.Processes);
        });
    }

    [Fact]
    public async Task Reports_of_a_process_that_stopped_reporting_are_not_shown()
    {
        await using var pipeline = await TestPipeline.StartAsync(await postgres.CreateDatabaseAsync(), new PipelineSetup
        {
            Settings = new Dictionary<string, string?> { ["PersonaGym:Pipeline:ConcurrencyReportInterval"] = "00:00:00" },
        });
        var now = DateTimeOffset.UtcNow;
        await using (var db = pipeline.NewContext())
        {
            db.ModelConcurrencyReports.AddRange(
                new ModelConcurrencyReport { Model = "openai:m", Process = "live:1", Limit = 12, InFlight = 3, ReportedAt = now },
                new ModelConcurrencyReport { Model = "openai:m", Process = "live:2", Limit = 20, InFlight = 5, ReportedAt = now },
                new ModelConcurrencyReport { Model = "openai:m", Process = "gone:3", Limit = 64, ReportedAt = now - RunQueries.ConcurrencyReportsFreshFor * 2 });
            await db.SaveChangesAsync();
        }

        await using var read = pipeline.NewContext();
        var shown = await read.ModelConcurrencyAsync(["openai:m", "openai:unused"], now - RunQueries.ConcurrencyReportsFreshFor);
        var model = Assert.Single(shown);
        Assert.Equal(("openai:m", 32, 8, 2), (model.Model, model.Limit, model.InFlight, model.Processes));
    }

    [Fact]
    public async Task A_stopping_host_removes_its_reports()
    {
        var connection = await postgres.CreateDatabaseAsync();
        var pipeline = await TestPipeline.StartAsync(connection, new PipelineSetup
        {
            Settings = new Dictionary<string, string?> { ["PersonaGym:Pipeline:ConcurrencyReportInterval"] = "00:00:00.100" },
        });
        await using (pipeline)
        {
            var runId = await pipeline.SubmitAsync(TestRuns.Request(personas: 1, agents: 1, judges: 1, questionsPerTask: 1));
            await pipeline.WaitForRunAsync(runId);
            await Wait.UntilAsync(async () =>
            {
                await using var db = pipeline.NewContext();
                return await db.ModelConcurrencyReports.AnyAsync(r => r.Process == ModelConcurrencyReporter.ProcessName);
            }, "the host reported its models");
            await pipeline.StopAsync();

            await using var check = pipeline.NewContext();
            Assert.False(await check.ModelConcurrencyReports.AnyAsync(r => r.Process == ModelConcurrencyReporter.ProcessName));
        }
    }
}
