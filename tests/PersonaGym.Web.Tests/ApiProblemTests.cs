using System.Net;
using System.Text;
using PersonaGym.Web.Api;

namespace PersonaGym.Web.Tests;

/// <summary>How the web app reads the Api's problem details (in process).</summary>
public sealed class ApiProblemTests
{
    [Fact]
    public async Task A_403_says_an_operator_key_is_needed()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.Forbidden)
        {
            Content = new StringContent("""{"title":"Forbidden","status":403}""", Encoding.UTF8, "application/problem+json"),
        };

        var problem = await ApiProblem.ReadAsync(response, CancellationToken.None);

        Assert.Equal(403, problem.Status);
        Assert.Equal("Not allowed: this needs an operator key; you are signed in with a reader key.", problem.ToString());
    }

    [Fact]
    public async Task Validation_problems_keep_the_Apis_field_keys()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.BadRequest)
        {
            Content = new StringContent("""{"title":"The run request is invalid","status":400,"errors":{"personas[3]":["persona #4: empty"],"agents[0]":["x: unknown provider"]}}""",
                Encoding.UTF8, "application/problem+json"),
        };

        var problem = await ApiProblem.ReadAsync(response, CancellationToken.None);

        Assert.Equal(["persona #4: empty"], problem.Errors["personas[3]"]);
        Assert.Equal(["x: unknown provider"], problem.Errors["agents[0]"]);
    }
}
