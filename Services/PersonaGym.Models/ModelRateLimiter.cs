namespace PersonaGym.Models;

/// <summary>
/// The pace of one model in this process. Calls in flight are bounded by a limit that adapts to what the provider
/// accepts (<see cref="AdaptiveConcurrencyLimit"/>), never above <see cref="ModelPipelineSettings.MaxConcurrency"/>;
/// no call starts while the provider asked us to wait (Retry-After, or rate-limit headers saying nothing remains);
/// <see cref="ModelPipelineSettings.RequestsPerMinute"/> and <see cref="ModelPipelineSettings.TokensPerMinute"/> cap
/// requests and tokens per rolling minute. Token use is only known after a call, so it is charged then, and new calls
/// wait while the last minute's tokens are at or over the limit.
/// </summary>
public sealed class ModelRateLimiter : IAsyncDisposable
{
    /// <summary>The most calls in flight to one model per process when no <see cref="ModelPipelineSettings.MaxConcurrency"/> is configured.</summary>
    public const int UnconfiguredCeiling = 512;

    /// <summary>How long to hold new calls when a provider says nothing remains but not when it resets.</summary>
    private static readonly TimeSpan DefaultHold = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly AdaptiveConcurrencyLimit _limit;
    private readonly TimeProvider _time;
    private readonly RollingWindowBudget? _requests;
    private readonly RollingWindowBudget? _tokens;
    private ITimer? _resumeTimer;
    private DateTimeOffset _resumeArmedFor;
    private int _inFlight;
    private DateTimeOffset _heldUntil;
    private DateTimeOffset _growthHeldUntil;
    private bool _disposed;

    public ModelRateLimiter(ModelPipelineSettings settings, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _time = timeProvider ?? TimeProvider.System;
        var ceiling = settings.MaxConcurrency ?? (settings.AdaptiveConcurrency ? UnconfiguredCeiling : settings.InitialConcurrency);
        var initial = settings.AdaptiveConcurrency ? settings.InitialConcurrency : ceiling;
        _limit = new AdaptiveConcurrencyLimit(settings.AdaptiveConcurrency, initial, ceiling, settings.LatencyTolerance);
        _requests = settings.RequestsPerMinute is > 0 and var rpm ? new RollingWindowBudget(rpm, Window, _time) : null;
        _tokens = settings.TokensPerMinute is > 0 and var tpm ? new RollingWindowBudget(tpm, Window, _time) : null;
    }

    /// <summary>The limit, the calls in flight and waiting, and whether the provider asked us to hold, right now.</summary>
    public ModelConcurrency Current
    {
        get
        {
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                return new ModelConcurrency(_limit.Limit, _limit.Ceiling, _inFlight, _waiters.Count, _heldUntil > now ? _heldUntil - now : null);
            }
        }
    }

    /// <summary>Waits for a concurrency slot and for request and token budget; report the outcome on the lease and dispose it when the call ends.</summary>
    public async ValueTask<ModelCallLease> EnterAsync(CancellationToken cancellationToken)
    {
        var lease = TryEnter() ?? await WaitForSlotAsync(cancellationToken).ConfigureAwait(false);
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

            lease.Start();
            return lease;
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>A slot at once if one is free and nobody is waiting ahead; otherwise <c>null</c>. Ignores the per-minute budgets.</summary>
    internal ModelCallLease? TryEnter()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_waiters.Count == 0 && CanStart(_time.GetUtcNow()))
            {
                return Grant();
            }
        }

        return null;
    }

    /// <summary>Charges the tokens a finished call used against the tokens-per-minute budget.</summary>
    public void ChargeTokens(long tokens)
    {
        if (tokens > 0)
        {
            _tokens?.Charge(tokens);
        }
    }

    /// <summary>
    /// Takes in what a provider's response headers said: nothing remaining holds new calls until the window resets,
    /// few remaining stops growth, a Retry-After holds new calls that long.
    /// </summary>
    public void Observe(ProviderRateLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (limits.RetryAfter is { } retryAfter)
            {
                HoldUntil(now + retryAfter);
            }

            if (limits.RemainingRequests == 0)
            {
                HoldUntil(now + (limits.RequestsReset ?? DefaultHold));
            }

            if (limits.RemainingTokens == 0)
            {
                HoldUntil(now + (limits.TokensReset ?? DefaultHold));
            }

            // Growing past what the window still allows would only buy 429s.
            if (limits.RemainingRequests is { } remaining && remaining <= _limit.Limit)
            {
                var until = now + (limits.RequestsReset ?? DefaultHold);
                _growthHeldUntil = until > _growthHeldUntil ? until : _growthHeldUntil;
            }
        }

        Pump();
    }

    private void HoldUntil(DateTimeOffset until)
    {
        if (until > _heldUntil)
        {
            _heldUntil = until;
        }
    }

    private bool CanStart(DateTimeOffset now) => _inFlight < _limit.Limit && now >= _heldUntil;

    private ModelCallLease Grant()
    {
        _inFlight++;
        return new ModelCallLease(this, _limit.Epoch, _inFlight);
    }

    private async ValueTask<ModelCallLease> WaitForSlotAsync(CancellationToken cancellationToken)
    {
        var waiter = new Waiter();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            waiter.Node = _waiters.AddLast(waiter);
        }

        Pump();
        using var registration = cancellationToken.Register(static state =>
        {
            var (limiter, waiter) = ((ModelRateLimiter, Waiter))state!;
            limiter.Cancel(waiter);
        }, (this, waiter));
        var lease = await waiter.Completion.Task.ConfigureAwait(false);
        return lease;
    }

    private void Cancel(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null)
            {
                return; // already granted
            }

            _waiters.Remove(waiter.Node);
        }

        waiter.Completion.TrySetCanceled();
    }

    /// <summary>Hands free slots to waiters in arrival order; while held, arms the timer for the end of the hold.</summary>
    private void Pump()
    {
        List<(Waiter Waiter, ModelCallLease Lease)>? granted = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetUtcNow();
            while (_waiters.First is { } first && CanStart(now))
            {
                _waiters.RemoveFirst();
                (granted ??= []).Add((first.Value, Grant()));
            }

            if (_waiters.Count > 0 && now < _heldUntil && _resumeArmedFor != _heldUntil)
            {
                _resumeTimer?.Dispose();
                _resumeArmedFor = _heldUntil;
                _resumeTimer = _time.CreateTimer(static state => ((ModelRateLimiter)state!).Resume(), this, _heldUntil - now, Timeout.InfiniteTimeSpan);
            }
        }

        if (granted is not null)
        {
            foreach (var (waiter, lease) in granted)
            {
                if (!waiter.Completion.TrySetResult(lease))
                {
                    lease.Dispose();
                }
            }
        }
    }

    /// <summary>The hold the timer was armed for is over (the timer, not a clock comparison, decides, so any TimeProvider works).</summary>
    private void Resume()
    {
        lock (_gate)
        {
            if (_heldUntil == _resumeArmedFor)
            {
                _heldUntil = DateTimeOffset.MinValue;
            }

            _resumeArmedFor = default;
        }

        Pump();
    }

    internal void Complete(ModelCallLease lease, CallOutcome outcome, TimeSpan latency, TimeSpan? retryAfter)
    {
        lock (_gate)
        {
            _inFlight--;
            var now = _time.GetUtcNow();
            _limit.GrowthHeld = now < _growthHeldUntil;
            switch (outcome)
            {
                case CallOutcome.Succeeded:
                    _limit.OnSuccess(latency, lease.Epoch, lease.InFlightAtStart);
                    break;
                case CallOutcome.Overloaded:
                    _limit.OnOverload(lease.Epoch, lease.InFlightAtStart);
                    if (retryAfter is { } wait)
                    {
                        HoldUntil(now + wait);
                    }

                    break;
            }
        }

        Pump();
    }

    internal TimeSpan Elapsed(long since) => _time.GetElapsedTime(since);

    internal long Timestamp() => _time.GetTimestamp();

    public ValueTask DisposeAsync()
    {
        List<Waiter> waiting;
        ITimer? timer;
        lock (_gate)
        {
            _disposed = true;
            waiting = [.. _waiters];
            timer = _resumeTimer;
            _waiters.Clear();
        }

        timer?.Dispose();
        foreach (var waiter in waiting)
        {
            waiter.Completion.TrySetException(new ObjectDisposedException(nameof(ModelRateLimiter)));
        }

        return ValueTask.CompletedTask;
    }

    internal enum CallOutcome
    {
        /// <summary>Ended without saying anything about capacity (cancelled, rejected request, network failure).</summary>
        Neutral,
        Succeeded,
        Overloaded,
    }

    private sealed class Waiter
    {
        public TaskCompletionSource<ModelCallLease> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }

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

/// <summary>One model's concurrency at a moment: the adaptive limit, its ceiling, calls in flight and waiting, and any hold the provider asked for.</summary>
public sealed record ModelConcurrency(int Limit, int Ceiling, int InFlight, int Waiting, TimeSpan? HeldFor);

/// <summary>
/// A call's slot in its model's <see cref="ModelRateLimiter"/>. Report how the call went (<see cref="Succeeded"/> or
/// <see cref="Failed"/>) before disposing it; a lease disposed without a report frees its slot and teaches the limiter nothing.
/// </summary>
public sealed class ModelCallLease : IDisposable
{
    private readonly ModelRateLimiter _owner;
    private long _startedAt;
    private int _done;

    internal ModelCallLease(ModelRateLimiter owner, long epoch, int inFlightAtStart)
    {
        _owner = owner;
        Epoch = epoch;
        InFlightAtStart = inFlightAtStart;
        _startedAt = owner.Timestamp();
    }

    internal long Epoch { get; }

    internal int InFlightAtStart { get; }

    /// <summary>Starts the latency clock once the per-minute budgets let the call go.</summary>
    internal void Start() => _startedAt = _owner.Timestamp();

    public void Succeeded() => End(ModelRateLimiter.CallOutcome.Succeeded, null);

    /// <summary>Refusals and overloads (429, 503, 529, timeouts) cut the limit and honour Retry-After; other failures are neutral.</summary>
    public void Failed(ModelCallException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var overloaded = failure.Kind is ModelFailureKind.RateLimited or ModelFailureKind.Timeout || failure.StatusCode is 503 or 529;
        End(overloaded ? ModelRateLimiter.CallOutcome.Overloaded : ModelRateLimiter.CallOutcome.Neutral, failure.RetryAfter);
    }

    public void Dispose() => End(ModelRateLimiter.CallOutcome.Neutral, null);

    private void End(ModelRateLimiter.CallOutcome outcome, TimeSpan? retryAfter)
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            _owner.Complete(this, outcome, _owner.Elapsed(_startedAt), retryAfter);
        }
    }
}
