using System.Diagnostics.CodeAnalysis;

namespace PersonaGym.Core.Parsing;

/// <summary>A parser's answer: a value, or the reason there is none. Parsers never throw and never guess a default.</summary>
public sealed record ParseResult<T>
{
    private ParseResult(T? value, string? failure)
    {
        Value = value;
        Failure = failure;
    }

    public T? Value { get; }

    public string? Failure { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool IsSuccess => Failure is null;

    public static ParseResult<T> Success(T value) => new(value, null);

    public static ParseResult<T> Fail(string reason) => new(default, reason);
}
