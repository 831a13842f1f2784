using Microsoft.Extensions.AI;
using PersonaGym.Models.Tests.Support;

namespace PersonaGym.Models.Tests;

/// <summary>Prompts and answers reach telemetry only when the operator switches it on.</summary>
[Collection(nameof(TelemetryContentTests))]
[CollectionDefinition(nameof(TelemetryContentTests), DisableParallelization = true)]
public class TelemetryContentTests
{
    private static OpenTelemetryChatClient Telemetry()
    {
        var offline = new CallbackChatClient((_, _, _) => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok"))));
        var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration(), _ => offline), TestModels.FastOptions(),
            null, new ListRecorder(), null, TestTimeProvider.Instant());
        return pipeline.GetChatClient("offline:sim").GetService<OpenTelemetryChatClient>()!;
    }

    [Fact]
    public void Content_is_not_exported_by_default_even_when_the_generic_OpenTelemetry_switch_is_on()
    {
        var previous = Environment.GetEnvironmentVariable("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
        Environment.SetEnvironmentVariable("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true");
        try
        {
            Assert.False(Telemetry().EnableSensitiveData);
        }
        finally
        {
            Environment.SetEnvironmentVariable("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", previous);
        }
    }

    [Fact]
    public void Content_is_exported_when_PERSONAGYM_TELEMETRY_CONTENT_is_true()
    {
        Environment.SetEnvironmentVariable(PersonaGymPipelineBuilderExtensions.TelemetryContentVariable, "true");
        try
        {
            Assert.True(Telemetry().EnableSensitiveData);
        }
        finally
        {
            Environment.SetEnvironmentVariable(PersonaGymPipelineBuilderExtensions.TelemetryContentVariable, null);
        }
    }
}
