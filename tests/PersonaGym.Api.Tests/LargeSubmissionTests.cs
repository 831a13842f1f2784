using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using PersonaGym.Data;
using PersonaGym.Pipeline;
using PersonaGym.Pipeline.Runs;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>
/// The largest submission the default limits allow (2,000 personas, each near the character limit: a body of about
/// 8 MB) is answered at once, stores every persona, and with a budget of one call stops after a handful of calls
/// instead of flooding the stages with work it may not pay for.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class LargeSubmissionTests(ApiHost host) : IClassFixture<ApiHost>
{
    private const int Personas = 2000;

    [Fact]
    public async Task Two_thousand_long_personas_are_accepted_stored_and_held_to_a_budget_of_one_call()
    {
        var filler = string.Concat(Enumerable.Repeat(" who keeps bees, repairs bicycles and reads history books", 65));
        var request = new RunRequest
        {
            Name = "large submission",
            Personas = Enumerable.Range(1, Personas).Select(i => $"Tester number {i}, aged {20 + i % 60},{filler}").ToList(),
            Agents = ["offline:agent-large"],
            Judges = ["offline:judge-1", "offline:judge-2"],
            QuestionsPerTask = 2,
            MaxCalls = 1,
        };
        Assert.All(request.Personas, p => Assert.InRange(p.Length, 3500, 4000));

        using var client = host.Client();
        // "At once" as a bound on hanging, not a speed claim: the whole request, stored, within a minute.
        client.Timeout = TimeSpan.FromMinutes(1);
        var response = await client.PostAsJsonAsync("/api/runs", request, PersonaGymJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<RunAccepted>(PersonaGymJson.Options))!;
        Assert.Equal(Personas, accepted.Personas);

        await using (var db = host.Database())
        {
            var stored = await db.RunPersonas.Where(p => p.RunId == accepted.Id).Select(p => p.Persona.Text).ToListAsync();
            Assert.Equal(request.Personas.Order(StringComparer.Ordinal), stored.Order(StringComparer.Ordinal));
        }

        var details = await host.WaitUntilSettledAsync(client, response.Headers.Location!.OriginalString, TimeSpan.FromMinutes(2));
        Assert.Equal(RunStatus.Stopped, details.Summary.Status);
        Assert.Contains("call budget", details.Summary.Error);

        // Messages already being handled when the budget was reached may each make their call; nothing else does.
        // 2,000 personas need 2,000 environment selections before anything else.
        await using var check = host.Database();
        var paid = await check.LlmCalls.CountAsync(c => c.RunId == accepted.Id && !c.CacheHit);
        Assert.InRange(paid, 1, 64);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(paid, await check.LlmCalls.CountAsync(c => c.RunId == accepted.Id && !c.CacheHit));
    }
}
