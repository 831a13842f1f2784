using System.Threading.RateLimiting;

namespace PersonaGym.Models;

/// <summary>
/// The pace of one model in this process: at most <see cref="ModelPipelineSettings.MaxConcurrency"/> calls in flight,
/// <see cref="ModelPipelineSettings.RequestsPerMinute"/> requests started and <see cref="ModelPipelineSettings.TokensPerMinute"/>
/// tokens used per rolling minute. Token use is only known after a call, so it is charged then, and new calls wait
/// while the last minute's tokens are at or over the limit.
/// </summary>
public sealed class ModelRateLimiter : IAsyncDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly ConcurrencyLimiter _concurrency;
    private readonly RollingWindowBudget? _requests;
    private readonly RollingWindowBudget? _tokens;

    public ModelRateLimiter(ModelPipelineSettings settings, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var time = timeProvider ?? TimeProvider.System;
        _concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Math.Max(1, settings.MaxConcurrency),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _requests = settings.RequestsPerMinute is > 0 and var rpm ? new RollingWindowBudget(rpm, Window, time) : null;
        _tokens = settings.TokensPerMinute is > 0 and var tpm ? new RollingWindowBudget(tpm, Window, time) : null;
    }

    /// <summary>Waits for a concurrency slot and for request and token budget; dispose the result when the call ends.</summary>
    public async ValueTask<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        var lease = await _concurrency.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new InvalidOperationException("The model concurrency limiter refused a permit although its queue is unbounded.");
        }

        try
        {
            if (_tokens is not null)
            {
                await _tokens.WaitUntilBelowLimitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_requests is not null)
            {
                await _requests.TakeAsync(1, cancellationToken).ConfigureAwait(false);
            }

            return lease;
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Charges the tokens a finished call used against the tokens-per-minute budget.</summary>
    public void ChargeTokens(long tokens)
    {
        if (tokens > 0)
        {
            _tokens?.Charge(tokens);
        }
    }

    public ValueTask DisposeAsync() => _concurrency.DisposeAsync();

    /// <summary>Amounts spent over a rolling window, read from a <see cref="TimeProvider"/> so tests can move time.</summary>
    private sealed class RollingWindowBudget(long limit, TimeSpan window, TimeProvider time)
    {
        private readonly Queue<(DateTimeOffset At, long Amount)> _spent = new();
        private readonly Lock _gate = new();
        private long _total;

        public Task TakeAsync(long amount, CancellationToken cancellationToken) =>
            WaitAsync(() => _total + amount <= limit || _spent.Count == 0, amount, cancellationToken);

        public Task WaitUntilBelowLimitAsync(CancellationToken cancellationToken) =>
            WaitAsync(() => _total < limit, 0, cancellationToken);

        public void Charge(long amount)
        {
            lock (_gate)
            {
                _spent.Enqueue((time.GetUtcNow(), amount));
                _total += amount;
            }
        }

        private async Task WaitAsync(Func<bool> fits, long amount, CancellationToken cancellationToken)
        {
            while (true)
            {
                TimeSpan wait;
                lock (_gate)
                {
                    var now = time.GetUtcNow();
                    while (_spent.Count > 0 && _spent.Peek().At + window <= now)
                    {
                        _total -= _spent.Dequeue().Amount;
                    }

                    if (fits())
                    {
                        if (amount > 0)
                        {
                            _spent.Enqueue((now, amount));
                            _total += amount;
                        }

                        return;
                    }

                    // The earliest moment anything leaves the window.
                    wait = _spent.Peek().At + window - now;
                }

                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
