using Microsoft.Extensions.Time.Testing;

namespace PersonaGym.Models.Tests.Support;

/// <summary>
/// A provider simulated on a fake clock, one event at a time: it serves up to <see cref="Capacity"/> calls at once and
/// refuses the rest with 429 (and <see cref="RetryAfter"/>), answers in <see cref="Latency"/> (which may grow with load),
/// and can be switched into an outage. <see cref="Run"/> keeps an unbounded backlog of calls pressing on one
/// <see cref="ModelRateLimiter"/> and records what happened, so a test can check how the limit behaves.
/// </summary>
public sealed class SimulatedProvider(FakeTimeProvider time)
{
    private readonly List<(DateTimeOffset At, ModelCallLease Lease, bool Refused, bool Outage)> _inFlight = [];

    /// <summary>Calls the provider serves at once; one more is refused.</summary>
    public int Capacity { get; set; } = int.MaxValue;

    /// <summary>Time to answer, given the calls in flight at the provider (the new one included).</summary>
    public Func<int, TimeSpan> Latency { get; set; } = _ => TimeSpan.FromMilliseconds(500);

    /// <summary>Time to refuse a call.</summary>
    public TimeSpan RefusalLatency { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Retry-After sent with each refusal.</summary>
    public TimeSpan? RetryAfter { get; set; }

    /// <summary>While true every call fails with 503.</summary>
    public bool Outage { get; set; }

    public int Succeeded { get; private set; }

    public int Refused { get; private set; }

    /// <summary>Most calls the provider ever had in flight at once.</summary>
    public int MaxInFlight { get; private set; }

    /// <summary>The limit sampled after every event, with the time it was read.</summary>
    public List<(DateTimeOffset At, int Limit)> Limits { get; } = [];

    public int InFlight => _inFlight.Count;

    /// <summary>Runs the backlog against <paramref name="limiter"/> for <paramref name="duration"/> of fake time.</summary>
    public void Run(ModelRateLimiter limiter, TimeSpan duration)
    {
        var end = time.GetUtcNow() + duration;
        while (time.GetUtcNow() < end)
        {
            while (limiter.TryEnter() is { } lease)
            {
                lease.Start();
                var serving = _inFlight.Count(c => !c.Refused) + 1;
                var now = time.GetUtcNow();
                if (Outage)
                {
                    _inFlight.Add((now + RefusalLatency, lease, true, true));
                }
                else if (serving > Capacity)
                {
                    _inFlight.Add((now + RefusalLatency, lease, true, false));
                }
                else
                {
                    _inFlight.Add((now + Latency(serving), lease, false, false));
                    MaxInFlight = Math.Max(MaxInFlight, serving);
                }
            }

            Limits.Add((time.GetUtcNow(), limiter.Current.Limit));
            // Next event: the earliest answer, or a short step while the limiter holds every call back.
            var next = _inFlight.Count > 0 ? _inFlight.Min(c => c.At) : time.GetUtcNow() + TimeSpan.FromMilliseconds(10);
            if (next > end)
            {
                next = end;
            }

            time.Advance(next - time.GetUtcNow());
            foreach (var call in _inFlight.Where(c => c.At <= time.GetUtcNow()).ToList())
            {
                _inFlight.Remove(call);
                if (call.Outage)
                {
                    call.Lease.Failed(new ModelCallException("openai:sim", ModelFailureKind.ServerError, 503, "overloaded", RetryAfter));
                }
                else if (call.Refused)
                {
                    Refused++;
                    call.Lease.Failed(new ModelCallException("openai:sim", ModelFailureKind.RateLimited, 429, "rate limited", RetryAfter));
                }
                else
                {
                    Succeeded++;
                    call.Lease.Succeeded();
                }
            }
        }
    }

    /// <summary>Mean limit over the samples taken after <paramref name="from"/>.</summary>
    public double MeanLimitSince(DateTimeOffset from) => Limits.Where(l => l.At >= from).Average(l => l.Limit);
}
