using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PersonaGym.Testing;
using Xunit.Abstractions;

namespace PersonaGym.Api.Tests;

/// <summary>
/// The Api's HTTP JSON options resolve its bodies from a generated context first. The bodies found are the ones the
/// running app's endpoints declare, so an endpoint added later is covered without being listed here.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class ApiJsonMetadataTests(ApiHost host, ITestOutputHelper output) : IClassFixture<ApiHost>
{
    private JsonSerializerOptions ApiOptions =>
        host.Factory.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;

    [Fact]
    public void Every_body_an_endpoint_declares_is_in_the_generated_context()
    {
        var options = ApiOptions;
        var generated = Assert.IsAssignableFrom<JsonSerializerContext>(options.TypeInfoResolverChain[0]);

        var bodies = DeclaredBodies();

        Assert.NotEmpty(bodies);
        var missing = bodies.Where(t => ((IJsonTypeInfoResolver)generated).GetTypeInfo(t, options) is null).ToList();
        Assert.True(missing.Count == 0, "Not in the generated context (served by reflection): " + string.Join(", ", missing.Select(Name)));
        // Its own options (for use on its own) are the Api's conventions too.
        Assert.Same(options.PropertyNamingPolicy, generated.Options.PropertyNamingPolicy);
        Assert.Equal(options.PropertyNameCaseInsensitive, generated.Options.PropertyNameCaseInsensitive);
        Assert.Equal(options.NumberHandling, generated.Options.NumberHandling);
        // Reflection stays in the chain after it, for the framework's own types.
        Assert.Contains(options.TypeInfoResolverChain, r => r is DefaultJsonTypeInfoResolver);
    }

    [Fact]
    public void Generated_metadata_writes_the_fields_reflection_wrote()
    {
        var options = ApiOptions;
        // The same settings with reflection alone: what the Api used before the context was added.
        var reflection = new JsonSerializerOptions(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        var seen = new HashSet<Type>();
        var differences = new List<string>();

        foreach (var body in DeclaredBodies()) Compare(body, options, reflection, seen, differences);

        output.WriteLine($"{seen.Count} types compared.");
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    /// <summary>The request and response bodies the endpoints declare, and the list a declared list is at run time.</summary>
    private List<Type> DeclaredBodies()
    {
        var types = new HashSet<Type>();
        foreach (var endpoint in host.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints)
        {
            foreach (var produces in endpoint.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>())
                if (produces.Type is { } type) types.Add(type);
            foreach (var accepts in endpoint.Metadata.GetOrderedMetadata<IAcceptsMetadata>())
                if (accepts.RequestType is { } type) types.Add(type);
        }

        // Problem details are the framework's, with their own generated context; void and text are no JSON bodies.
        types.RemoveWhere(t => t == typeof(void) || t == typeof(string) || typeof(ProblemDetails).IsAssignableFrom(t));
        foreach (var type in types.ToList())
        {
            // A server-sent event's frame is the framework's; only its data is JSON.
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(System.Net.ServerSentEvents.SseItem<>))
            {
                types.Remove(type);
                types.Add(type.GetGenericArguments()[0]);
            }
            else if (type.IsInterface && type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
                types.Add(typeof(List<>).MakeGenericType(type.GetGenericArguments()));
        }

        return types.OrderBy(Name, StringComparer.Ordinal).ToList();
    }

    private static void Compare(Type type, JsonSerializerOptions generated, JsonSerializerOptions reflection, HashSet<Type> seen, List<string> differences)
    {
        if (!seen.Add(type)) return;
        var ours = generated.GetTypeInfo(type);
        var theirs = reflection.GetTypeInfo(type);
        void Differ(string what, object? a, object? b)
        {
            if (!Equals(a, b)) differences.Add($"{Name(type)}: {what} is {a ?? "null"} generated, {b ?? "null"} by reflection");
        }

        Differ("kind", ours.Kind, theirs.Kind);
        Differ("polymorphism", ours.PolymorphismOptions is null, theirs.PolymorphismOptions is null);
        Differ("number handling", ours.NumberHandling, theirs.NumberHandling);
        switch (ours.Kind)
        {
            case JsonTypeInfoKind.None:
                // A value's converter is its wire format (enums by name, times in ISO 8601…).
                Differ("converter", ours.Converter.GetType(), theirs.Converter.GetType());
                break;
            case JsonTypeInfoKind.Enumerable:
            case JsonTypeInfoKind.Dictionary:
                Differ("key type", ours.KeyType, theirs.KeyType);
                Differ("element type", ours.ElementType, theirs.ElementType);
                if (ours.KeyType is { } key) Compare(key, generated, reflection, seen, differences);
                if (ours.ElementType is { } element) Compare(element, generated, reflection, seen, differences);
                break;
            case JsonTypeInfoKind.Object:
                Differ("fields", Fields(ours), Fields(theirs));
                foreach (var property in ours.Properties)
                {
                    if (property.PropertyType == typeof(object))
                        differences.Add($"{Name(type)}.{property.Name} is an object: its runtime type needs reflection");
                    else
                        Compare(property.PropertyType, generated, reflection, seen, differences);
                }
                break;
        }
    }

    // What a field looks like on the wire: name, order, type, and how it is written.
    private static string Fields(JsonTypeInfo info) => string.Join("; ", info.Properties.Select(p =>
        $"{p.Name}:{Name(p.PropertyType)} order {p.Order} get {p.Get is not null} converter {p.CustomConverter?.GetType().Name ?? "-"} " +
        $"numbers {p.NumberHandling?.ToString() ?? "-"} conditional {p.ShouldSerialize is not null} extension {p.IsExtensionData}"));

    private static string Name(Type type) => type.IsGenericType
        ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>"
        : type.Name;
}
