using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace PersonaGym.Api.Security;

/// <summary>Declares the Api key scheme (and Entra ID bearer when configured) and which operations need them.</summary>
internal sealed class SecuritySchemesTransformer(bool entra) : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyAuthenticationHandler.HeaderName,
            Description = "A PersonaGym Api key (`personagym keys create`). Readers read; operators also submit, resume, cancel and raise budgets.",
        };
        if (entra)
        {
            document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "A Microsoft Entra ID access token for the Api; app roles reader / operator.",
            };
        }

        var requirement = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [] };
        var bearer = entra ? new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] } : null;
        var open = context.DescriptionGroups.SelectMany(g => g.Items)
            .Where(d => d.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
            .Select(d => (Path: "/" + (d.RelativePath ?? "").TrimStart('/'), Method: d.HttpMethod ?? ""))
            .ToHashSet();
        foreach (var (path, item) in document.Paths)
        {
            if (item.Operations is null) continue;
            foreach (var (method, operation) in item.Operations)
            {
                if (open.Contains((path, method.ToString().ToUpperInvariant()))) continue;
                operation.Security = bearer is null ? [requirement] : [requirement, bearer];
                operation.Responses ??= new OpenApiResponses();
                operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No valid Api key or token (problem details)." });
                operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The caller's role does not allow this (problem details)." });
            }
        }

        return Task.CompletedTask;
    }
}
