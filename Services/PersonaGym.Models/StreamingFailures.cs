using System.Runtime.CompilerServices;

namespace PersonaGym.Models;

/// <summary>
/// The one place a streaming call's failures are intercepted. C# allows no <c>yield return</c> inside a <c>try</c>
/// that has a <c>catch</c>, so the enumerator is driven by hand; every layer that must see or replace a stream's
/// exceptions goes through here instead of repeating that loop.
/// </summary>
internal static class StreamingFailures
{
    /// <summary>
    /// Yields the updates of <paramref name="source"/>. When getting the next one throws, <paramref name="onFailure"/>
    /// sees the exception first and returns the exception to throw instead, or null to let the original propagate.
    /// </summary>
    public static async IAsyncEnumerable<T> Intercept<T>(
        IAsyncEnumerable<T> source, Func<Exception, ValueTask<Exception?>> onFailure,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var updates = source.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                T update;
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }

                    update = updates.Current;
                }
                catch (Exception ex)
                {
                    if (await onFailure(ex).ConfigureAwait(false) is { } replacement)
                    {
                        throw replacement;
                    }

                    throw;
                }

                yield return update;
            }
        }
        finally
        {
            await updates.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc cref="Intercept{T}(IAsyncEnumerable{T}, Func{Exception, ValueTask{Exception}}, CancellationToken)"/>
    public static IAsyncEnumerable<T> Replace<T>(
        IAsyncEnumerable<T> source, Func<Exception, Exception?> replacement, CancellationToken cancellationToken = default) =>
        Intercept(source, ex => ValueTask.FromResult(replacement(ex)), cancellationToken);
}
