namespace PersonaGym.AppHost.Tests;

/// <summary>
/// The tests that start a whole system run one class at a time: two systems starting side by side on a two-core
/// machine, next to the other test projects, can miss their start-up bound.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SystemCollection
{
    public const string Name = "Whole system";
}
