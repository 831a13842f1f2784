namespace PersonaGym.AppHost.LocalInfrastructure;

/// <summary>Settings of the local-process infrastructure, from the <c>Infrastructure</c> configuration section.</summary>
/// <param name="DataDirectory">Root of everything the servers store: <c>Infrastructure:DataDirectory</c>, default <c>&lt;repo&gt;/.data</c>.</param>
/// <param name="PostgresBinDirectory"><c>Infrastructure:PostgresBinDirectory</c>: where <c>postgres</c> and <c>initdb</c> are; found automatically when unset.</param>
/// <param name="RabbitMQBinDirectory"><c>Infrastructure:RabbitMQBinDirectory</c>: where <c>rabbitmq-server</c> is; found automatically when unset.</param>
internal sealed record LocalInfrastructureSettings(string DataDirectory, string? PostgresBinDirectory, string? RabbitMQBinDirectory)
{
    public static LocalInfrastructureSettings From(IDistributedApplicationBuilder builder)
    {
        var configuredData = builder.Configuration["Infrastructure:DataDirectory"];
        var dataDirectory = string.IsNullOrWhiteSpace(configuredData)
            ? Path.Combine(builder.AppHostDirectory, "..", ".data")
            : Path.Combine(builder.AppHostDirectory, configuredData);

        return new LocalInfrastructureSettings(
            Path.GetFullPath(dataDirectory),
            NullIfBlank(builder.Configuration["Infrastructure:PostgresBinDirectory"]),
            NullIfBlank(builder.Configuration["Infrastructure:RabbitMQBinDirectory"]));
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
