using PersonaGym.Cli.Remote;
using PersonaGym.Core.Reports;
using PersonaGym.Data;
using PersonaGym.Pipeline.Reports;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary><c>personagym run --server URL</c>: the CLI's client against the real Api.</summary>
[Collection(PostgresServer.Collection)]
public sealed class ServerClientTests(ApiHost host) : IClassFixture<ApiHost>
{
    [Fact]
    public async Task The_CLI_client_submits_follows_and_reads_back_the_report_the_database_gives()
    {
        var client = new ServerClient(host.Client());

        var accepted = await client.SubmitAsync(Requests.SmallOfflineRun("cli-over-api"), CancellationToken.None);
        Assert.True(accepted.UsesOfflineModels);

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        RunSummary summary;
        while ((summary = (await client.SummaryAsync(accepted.Id, timeout.Token))!).Status is RunStatus.Pending or RunStatus.Running)
            await Task.Delay(100, timeout.Token);
        Assert.Equal(RunStatus.Completed, summary.Status);

        var report = await client.ReportAsync(accepted.Id, CancellationToken.None);

        await using var db = host.Database();
        var stored = await RunReportBuilder.BuildAsync(db, accepted.Id);
        // The documented JSON shape survives the trip: what the CLI reads is what the database says, field for field.
        Assert.Equal(RunReportWriter.ToJson(stored!), RunReportWriter.ToJson(report));
        Assert.Equal(ReportText.OfflineDisclaimer, report.Disclaimer);
        Assert.Equal(3, report.Models[0].Personas.Count(p => p.Scores.PersonaScore is not null));
        Assert.NotNull(report.JudgeValidity);
    }

    [Fact]
    public async Task The_CLI_client_sees_an_unknown_run_as_missing()
    {
        var client = new ServerClient(host.Client());
        Assert.Null(await client.SummaryAsync(Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task The_CLI_client_turns_a_refused_request_into_the_servers_problems()
    {
        var client = new ServerClient(host.Client());
        var ex = await Assert.ThrowsAsync<PersonaGym.Cli.CliException>(() =>
            client.SubmitAsync(Requests.SmallOfflineRun("refused") with { QuestionsPerTask = 0 }, CancellationToken.None));
        Assert.Contains(ex.Details, p => p.Contains("questions per task"));
    }
}
