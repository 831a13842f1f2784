using Aspire.Hosting.Testing;

namespace PersonaGym.AppHost.Tests;

public sealed class MissingInfrastructureTests : IDisposable
{
    private readonly string _emptyDirectory = Directory.CreateTempSubdirectory("personagym-no-binaries-").FullName;

    [Theory]
    [InlineData("Infrastructure:PostgresBinDirectory", "apt-get install -y postgresql")]
    [InlineData("Infrastructure:RabbitMQBinDirectory", "apt-get install -y rabbitmq-server")]
    public async Task LocalModeWithoutTheServerBinaryStopsAtOnceNamingTheInstallCommand(string binDirectorySetting, string installCommand)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var reachedStart = false;

        var exception = await Record.ExceptionAsync(async () =>
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.PersonaGym_AppHost>(
                ["--Infrastructure:Mode=local", $"--{binDirectorySetting}={_emptyDirectory}",
                 $"--Infrastructure:DataDirectory={_emptyDirectory}"],
                timeout.Token);
            await using var app = await builder.BuildAsync(timeout.Token);
            reachedStart = true;
            await app.StartAsync(timeout.Token);
        });

        Assert.NotNull(exception);
        Assert.Contains(installCommand, AllMessages(exception));
        // "At once": while the AppHost builds its model, before any server or service is started, rather than
        // after a health check gives up.
        Assert.False(reachedStart, "The missing binary was noticed only when the application started.");
    }

    [Fact]
    public async Task BothServersMissingAreNamedInOneMessage()
    {
        var exception = await Record.ExceptionAsync(async () =>
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.PersonaGym_AppHost>(
                ["--Infrastructure:Mode=local", $"--Infrastructure:PostgresBinDirectory={_emptyDirectory}",
                 $"--Infrastructure:RabbitMQBinDirectory={_emptyDirectory}", $"--Infrastructure:DataDirectory={_emptyDirectory}"]);
            await using var app = await builder.BuildAsync();
        });

        Assert.NotNull(exception);
        var messages = AllMessages(exception);
        Assert.Contains("apt-get install -y postgresql", messages);
        Assert.Contains("apt-get install -y rabbitmq-server", messages);
        // Nothing was written before the check: no server folder in the data directory.
        Assert.Empty(Directory.EnumerateFileSystemEntries(_emptyDirectory));
    }

    public void Dispose() => Directory.Delete(_emptyDirectory, recursive: true);

    private static string AllMessages(Exception exception)
    {
        var messages = new List<string>();
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            messages.Add(current.Message);
        }

        return string.Join(Environment.NewLine, messages);
    }
}
