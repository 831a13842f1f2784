using Aspire.Hosting.Publishing;

namespace PersonaGym.AppHost;

/// <summary>
/// Writes a project's replica count (<see cref="ProjectResourceBuilderExtensions.WithReplicas"/>) into the published
/// manifest. Aspire's own manifest writer leaves replicas out, and a deployment built from the manifest would then run
/// one judge where the AppHost runs several. The entry keeps the <c>project.v0</c> shape and adds <c>"replicas": N</c>.
/// </summary>
public static class ReplicaManifestExtensions
{
    public static IResourceBuilder<ProjectResource> WithReplicasInManifest(this IResourceBuilder<ProjectResource> project)
    {
        if (!project.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            return project;
        }

        return project.WithManifestPublishingCallback(context => WriteProjectAsync(context, project.Resource));
    }

    // The same fields, in the same order, as Aspire's ManifestPublishingContext writes for a project, plus replicas
    // (read from the one annotation WithReplicas sets, so the count has a single home).
    private static async Task WriteProjectAsync(ManifestPublishingContext context, ProjectResource project)
    {
        var replicas = project.TryGetLastAnnotation<ReplicaAnnotation>(out var annotation) ? annotation.Replicas : 1;

        context.Writer.WriteString("type", "project.v0");
        context.Writer.WriteString("path", context.GetManifestRelativePath(project.GetProjectMetadata().ProjectPath));
        context.Writer.WriteNumber("replicas", replicas);
        await context.WriteCommandLineArgumentsAsync(project);
        await context.WriteEnvironmentVariablesAsync(project);
        context.WriteBindings(project);
    }
}
