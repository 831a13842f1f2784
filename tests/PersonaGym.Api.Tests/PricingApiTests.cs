using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>With a price list configured, the estimate, a run, the runs overview and the runs list also say what they cost.</summary>
[Collection(PostgresServer.Collection)]
public sealed class PricingApiTests(PricingApiTests.PricedApiHost host) : IClassFixture<PricingApiTests.PricedApiHost>
{
    public sealed class PricedApiHost(PostgresServer postgres) : ApiHost(postgres)
    {
        protected override void Configure(IWebHostBuilder web)
        {
            web.UseSetting("PersonaGym:Pricing:Currency", "USD");
            web.UseSetting("PersonaGym:Pricing:Models:0:Model", "offline:agent-priced");
            web.UseSetting("PersonaGym:Pricing:Models:0:InputPerMillionTokens", "2.5");
            web.UseSetting("PersonaGym:Pricing:Models:0:OutputPerMillionTokens", "10");
        }
    }

    [Fact]
    public async Task The_estimate_and_the_finished_run_are_priced_by_the_list_and_the_overview_agrees()
    {
        using var client = host.Client();
        var request = Requests.SmallOfflineRun("priced", agent: "offline:agent-priced");

        var estimate = (await (await client.PostAsJsonAsync("/api/runs/estimate", request, PersonaGymJson.Options))
            .Content.ReadFromJsonAsync<RunEstimate>(PersonaGymJson.Options))!;
        var answerLine = Assert.Single(estimate.Lines, l => l.Model == "offline:agent-priced");
        Assert.Equal((answerLine.InputTokens * 2.5m + answerLine.OutputTokens * 10m) / 1_000_000m, estimate.Cost!.Amount);
        Assert.True(estimate.Cost.Complete);

        var response = await client.PostAsJsonAsync("/api/runs", request, PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!;
        var details = await host.WaitUntilSettledAsync(client, $"/api/runs/{accepted.Id}");
        Assert.Equal(RunStatus.Completed, details.Summary.Status);

        var cost = details.Summary.Cost!;
        Assert.Equal("USD", cost.Currency);
        Assert.True(cost.Amount > 0);
        Assert.True(cost.Complete);
        var answered = Assert.Single(cost.Lines, l => l.Model == "offline:agent-priced");
        Assert.Equal((answered.InputTokens * 2.5m + answered.OutputTokens * 10m) / 1_000_000m, answered.Amount);
        Assert.Equal(cost.Amount, answered.Amount);

        var overview = await client.GetFromJsonAsync<List<RunOverviewItem>>("/api/runs/overview", PersonaGymJson.Options);
        Assert.Equal(cost.Amount, Assert.Single(overview!, r => r.Id == accepted.Id).Cost!.Amount);

        // The plain list (what `personagym runs --server` reads) says the same, with the run's calls.
        var listed = Assert.Single((await client.GetFromJsonAsync<List<RunListItem>>("/api/runs", PersonaGymJson.Options))!, r => r.Id == accepted.Id);
        Assert.Equal(cost.Amount, listed.Cost!.Amount);
        Assert.Equal(details.Summary.Usage.Calls, listed.Calls);
        Assert.True(listed.Calls > 0);
    }
}
