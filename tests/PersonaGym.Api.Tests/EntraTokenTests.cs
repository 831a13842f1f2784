using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using PersonaGym.Testing;

namespace PersonaGym.Api.Tests;

/// <summary>
/// The Api with Entra ID configured (the AzureAd section, as infra/api.bicep sets it): bearer tokens are validated by
/// Microsoft.Identity.Web's JWT handler, and their app roles are the Api's roles. The tenant's signing keys and issuer
/// come from a key made here instead of Entra's metadata endpoint (nothing leaves the machine); what Entra itself
/// issues is not checked here.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class EntraTokenTests(EntraTokenTests.EntraApiHost host) : IClassFixture<EntraTokenTests.EntraApiHost>
{
    public const string TenantId = "11111111-2222-3333-4444-555555555555";
    public const string ClientId = "66666666-7777-8888-9999-000000000000";
    public const string Audience = "api://personagym-tests";
    public static readonly string Issuer = $"https://login.microsoftonline.com/{TenantId}/v2.0";

    private const string SmallRun = """{ "personas": ["A 40-year-old baker from Lyon"], "agents": ["offline:agent"], "judges": ["offline:judge-1"], "questionsPerTask": 1 }""";

    public sealed class EntraApiHost(PostgresServer postgres) : ApiHost(postgres)
    {
        public RsaSecurityKey SigningKey { get; } = new(RSA.Create(2048)) { KeyId = "tenant-key-1" };

        protected override void Configure(IWebHostBuilder web)
        {
            web.UseSetting("AzureAd:Instance", "https://login.microsoftonline.com/");
            web.UseSetting("AzureAd:TenantId", TenantId);
            web.UseSetting("AzureAd:ClientId", ClientId);
            web.UseSetting("AzureAd:Audience", Audience);
            web.ConfigureTestServices(services => services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, options =>
            {
                // The tenant's metadata (issuer and signing keys), as Entra's discovery document would give them.
                var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
                configuration.SigningKeys.Add(SigningKey);
                options.Configuration = configuration;
                options.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(configuration);
                // Microsoft.Identity.Web's issuer validator reads the cloud's instance metadata online: the tenant's
                // issuer is checked as Entra states it instead.
                options.TokenValidationParameters.IssuerValidator = null;
                options.TokenValidationParameters.ValidIssuer = Issuer;
                options.BackchannelHttpHandler = new RefusingHandler();
            }));
        }

        public string Token(IEnumerable<string>? roles, string audience = Audience, SecurityKey? key = null, DateTime? expires = null, string issuer = "", string? scope = null)
        {
            var claims = new Dictionary<string, object>
            {
                ["oid"] = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                ["tid"] = TenantId,
                ["preferred_username"] = "researcher@contoso.example",
                ["name"] = "A Researcher",
            };
            if (roles is not null) claims["roles"] = roles.ToArray();
            if (scope is not null) claims["scp"] = scope;
            var now = DateTime.UtcNow;
            return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer.Length > 0 ? issuer : Issuer,
                Audience = audience,
                Claims = claims,
                IssuedAt = now.AddMinutes(-5),
                NotBefore = now.AddMinutes(-5),
                Expires = expires ?? now.AddHours(1),
                SigningCredentials = new SigningCredentials(key ?? SigningKey, SecurityAlgorithms.RsaSha256),
            });
        }

        public HttpClient ClientWithToken(string token)
        {
            var client = AnonymousClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return client;
        }
    }

    /// <summary>Nothing in these tests may reach the internet: any backchannel request fails the test.</summary>
    private sealed class RefusingHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException($"The Api tried to reach {request.RequestUri} during a test.");
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_token_with_the_operator_app_role_submits_a_run_and_names_its_user()
    {
        using var client = host.ClientWithToken(host.Token(["operator"]));

        using var me = JsonDocument.Parse(await client.GetStringAsync("/api/me"));
        Assert.Equal(["operator"], me.RootElement.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        // Microsoft.Identity.Web names the user by preferred_username.
        Assert.Equal("researcher@contoso.example", me.RootElement.GetProperty("name").GetString());
        // An Entra user, not a key: no key id.
        Assert.Equal(JsonValueKind.Null, me.RootElement.GetProperty("keyId").ValueKind);
        using var submitted = await client.PostAsync("/api/runs", Json(SmallRun));
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
    }

    [Fact]
    public async Task A_token_with_the_reader_app_role_reads_but_may_not_submit()
    {
        using var client = host.ClientWithToken(host.Token(["reader"]));
        var before = await host.RunCountAsync();

        using var runs = await client.GetAsync("/api/runs");
        using var submitted = await client.PostAsync("/api/runs", Json(SmallRun));

        Assert.Equal(HttpStatusCode.OK, runs.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, submitted.StatusCode);
        Assert.Equal("application/problem+json", submitted.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await host.RunCountAsync());
    }

    public static TheoryData<string> RefusedTokens => new() { "no roles", "other audience", "other signing key", "expired", "other issuer" };

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task A_token_that_is_not_for_this_Api_or_carries_no_role_reads_nothing(string what)
    {
        var token = what switch
        {
            // Signed in, but no app role assigned: not a reader.
            "no roles" => host.Token(roles: null),
            "other audience" => host.Token(["operator"], audience: "api://some-other-api"),
            "other signing key" => host.Token(["operator"], key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = "tenant-key-1" }),
            "expired" => host.Token(["operator"], expires: DateTime.UtcNow.AddMinutes(-10)),
            "other issuer" => host.Token(["operator"], issuer: "https://login.microsoftonline.com/99999999-0000-0000-0000-000000000000/v2.0"),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
        using var client = host.ClientWithToken(token);
        var before = await host.RunCountAsync();

        using var read = await client.GetAsync("/api/runs");
        using var submitted = await client.PostAsync("/api/runs", Json(SmallRun));

        Assert.True(read.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"{what}: GET /api/runs answered {(int)read.StatusCode}");
        Assert.True(submitted.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"{what}: POST /api/runs answered {(int)submitted.StatusCode}");
        Assert.Equal(before, await host.RunCountAsync());
    }

    public static TheoryData<string> InvalidTokens => new() { "not a JWT", "unsigned", "other signing key", "expired", "other audience", "other issuer" };

    [Theory]
    [MemberData(nameof(InvalidTokens))]
    public async Task Every_endpoint_but_the_open_ones_is_a_401_problem_with_a_bearer_token_that_is_not_valid(string what)
    {
        var token = what switch
        {
            "not a JWT" => "not-a-token",
            "unsigned" => "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJyb2xlcyI6WyJvcGVyYXRvciJdfQ.",
            "other signing key" => host.Token(["operator"], key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = "tenant-key-1" }),
            "expired" => host.Token(["operator"], expires: DateTime.UtcNow.AddMinutes(-10)),
            "other audience" => host.Token(["operator"], audience: "api://some-other-api"),
            "other issuer" => host.Token(["operator"], issuer: "https://login.microsoftonline.com/99999999-0000-0000-0000-000000000000/v2.0"),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
        using var client = host.ClientWithToken(token);
        var before = await host.StoredStateAsync();
        var endpoints = ProtectedEndpoints();

        var failures = await EndpointProbe.FailuresAsync(client, endpoints, async (_, response) =>
            await EndpointProbe.UnauthorizedProblemAsync(response, "The bearer token is not valid")
            ?? (response.Headers.WwwAuthenticate.ToString().StartsWith("Bearer error=\"invalid_token\"", StringComparison.Ordinal) ? null : $"challenge '{response.Headers.WwwAuthenticate}'"));

        Assert.True(endpoints.Count >= 20, $"{endpoints.Count} endpoints");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await host.StoredStateAsync());
    }

    [Fact]
    public async Task Every_endpoint_but_the_open_ones_is_a_403_problem_for_a_valid_token_without_an_app_role()
    {
        // A delegated scope but no app role: Microsoft.Identity.Web accepts the token (one with neither is a 401), the Api's roles refuse it.
        using var client = host.ClientWithToken(host.Token(roles: null, scope: "access_as_user"));
        var before = await host.StoredStateAsync();

        var failures = await EndpointProbe.FailuresAsync(client, ProtectedEndpoints(), async (_, response) =>
            await EndpointProbe.ProblemAsync(response, HttpStatusCode.Forbidden) is { } problem && problem.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 }
                ? null : $"{(int)response.StatusCode}, not a 403 problem with a detail");

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, await host.StoredStateAsync());
    }

    /// <summary>The endpoints the running Api maps but the open ones. No run exists here: any id reaches the routes, and a refusal comes before an endpoint looks its run up.</summary>
    private List<MappedEndpoint> ProtectedEndpoints() =>
        MappedEndpoints.Of(host.Factory.Services, MappedEndpoints.UnknownIds()).Where(e => !e.Anonymous).ToList();

    [Fact]
    public async Task The_OpenAPI_document_declares_the_bearer_scheme_and_every_operation_accepts_it_or_an_api_key()
    {
        using var client = host.AnonymousClient();

        using var json = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));

        var schemes = json.RootElement.GetProperty("components").GetProperty("securitySchemes");
        var bearer = schemes.GetProperty("Bearer");
        Assert.Equal("http", bearer.GetProperty("type").GetString());
        Assert.Equal("bearer", bearer.GetProperty("scheme").GetString());
        Assert.Equal("JWT", bearer.GetProperty("bearerFormat").GetString());
        Assert.Equal("apiKey", schemes.GetProperty("ApiKey").GetProperty("type").GetString());
        var operations = AccessControlTests.OpenApiOperations(json.RootElement);
        Assert.True(operations.Count >= 20, $"{operations.Count} operations");
        foreach (var (name, operation) in operations)
        {
            // Two requirements: either scheme is enough (one requirement naming both would demand both).
            var security = operation.GetProperty("security").EnumerateArray().Select(r => string.Join("+", r.EnumerateObject().Select(p => p.Name))).ToList();
            Assert.True(security.SequenceEqual(["ApiKey", "Bearer"]), $"{name}: security {string.Join(", ", security)}");
            Assert.True(operation.GetProperty("responses").TryGetProperty("401", out _), $"{name}: no 401");
        }
    }

    [Fact]
    public async Task Api_keys_still_work_beside_Entra_ID()
    {
        using var client = host.Client();

        using var me = JsonDocument.Parse(await client.GetStringAsync("/api/me"));

        Assert.Equal(["reader", "operator"], me.RootElement.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
    }
}
