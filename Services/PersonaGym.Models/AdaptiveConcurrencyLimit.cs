namespace PersonaGym.Models;

/// <summary>
/// The concurrency law of one model: additive increase, multiplicative decrease (AIMD, as TCP congestion control),
/// with a latency gradient. Not thread-safe; <see cref="ModelRateLimiter"/> calls it under its lock.
/// </summary>
/// <remarks>
/// <para>Growth: +1 per successful call (the limit doubles per round trip) until the first overload, and afterwards
/// again up to just below the in-flight level that last worked (after slow start's overload, the level that
/// overloaded); above that level it probes by a quarter per round trip
/// (<see cref="ProbeStep"/>/limit per success). A cap that refuses again at the same level is approached more slowly
/// each time (the step up to it halves, down to <see cref="MinProbeStep"/>), so its refusals and their Retry-After
/// become rare; once more than that level works, the search is at the usual pace again. Calls made while far below
/// the limit are not evidence that more would work, so they do not grow it.</para>
/// <para>Back-off: an overload (429, 503/529, timeout) halves the limit; latency above <c>tolerance</c> × the best recent
/// latency cuts it by a tenth or more, in proportion, but not below <see cref="LatencyFloor"/> (or where it started, if
/// lower). Only calls started after the last cut can cut again, so one burst of refusals is one
/// congestion event, not one halving per refused call.</para>
/// <para>The refusals of a burst come back in any order, so the first one's level can lie above the cap: the rest of
/// the burst lowers the recovery level to about (most in flight) − (refused), once one of its calls was served.</para>
/// <para>A burst of errors with no success in between leaves the recovery level where the last working level put it, so
/// the limit climbs back fast once the provider answers again.</para>
/// </remarks>
internal sealed class AdaptiveConcurrencyLimit
{
    internal const double OverloadBackoff = 0.5;
    internal const double LatencyBackoff = 0.9;
    internal const double RecoveryShare = 0.95;

    /// <summary>
    /// Growth per round trip above the level that last overloaded. A probe past a hard cap costs a 429 and the
    /// provider's Retry-After for every call of the model. At +1 per round trip that happened every few seconds, and
    /// the holds cost a 0.5 s model at capacity 64 a third of its throughput (bench/README.md, fifth round).
    /// </summary>
    internal const double ProbeStep = 0.25;

    /// <summary>
    /// The slowest approach to a cap that keeps refusing at the same level: the step towards it halves with each
    /// overload there, down to this (a probe past a cap of 64 every 30 s or so at 0.5 s per call, instead of every 8).
    /// </summary>
    internal const double MinProbeStep = 1.0 / 16;

    /// <summary>An overload at no more than this share of the last one's level (plus one) is the same cap again.</summary>
    internal const double SameCapShare = 1.1;
    /// <summary>
    /// How low latency alone takes the limit. Answers of different lengths are slower without any queue, so latency
    /// never cuts below this; a server that queues (one slot, a small local model) is still brought down to a few calls
    /// in flight, even though the limit starts higher.
    /// </summary>
    internal const int LatencyFloor = 4;

    private const int LatencySamplesBeforeJudging = 10;
    private const double ShortLatencyWeight = 0.2;

    private readonly int _ceiling;
    private readonly int _latencyFloor;
    private readonly double _tolerance;
    private readonly bool _adaptive;
    private double _limit;
    private double _recoverTo = double.PositiveInfinity;
    private double _probeStep = ProbeStep;
    private int _overloadLevel;

    // What the calls of the epoch last cut said after the cut: the most in flight any of them started with, how many
    // were refused and how many served. Refused calls come back in any order, so the first one's level alone can
    // overstate what the provider takes.
    private long _cutEpoch = -1;
    private int _cutPeak;
    private int _cutRefused;
    private int _cutServed;
    private int _bestInFlightThisEpoch;
    private double? _shortLatency;
    private double? _baselineLatency;
    private int _latencySamples;

    public AdaptiveConcurrencyLimit(bool adaptive, int initial, int ceiling, double tolerance)
    {
        _adaptive = adaptive;
        _ceiling = Math.Max(1, ceiling);
        _tolerance = tolerance;
        _limit = Math.Clamp(initial, 1, _ceiling);
        _latencyFloor = Math.Min((int)_limit, LatencyFloor);
    }

    /// <summary>Calls allowed in flight now.</summary>
    public int Limit => (int)_limit;

    public int Ceiling => _ceiling;

    /// <summary>Counts the cuts; a call remembers the epoch it started in.</summary>
    public long Epoch { get; private set; }

    /// <summary>Whether growth is held, e.g. because the provider's headers say few requests remain.</summary>
    public bool GrowthHeld { get; set; }

    /// <summary>A call that started in <paramref name="startEpoch"/> with <paramref name="inFlightAtStart"/> calls in flight (itself included) succeeded.</summary>
    public void OnSuccess(TimeSpan latency, long startEpoch, int inFlightAtStart)
    {
        if (!_adaptive)
        {
            return;
        }

        var ms = Math.Max(0.001, latency.TotalMilliseconds);
        var shortLatency = _shortLatency is { } s ? s + ShortLatencyWeight * (ms - s) : ms;
        _shortLatency = shortLatency;
        _latencySamples++;
        if (_baselineLatency is not { } b || shortLatency <= b)
        {
            _baselineLatency = shortLatency;
        }
        else if (shortLatency > b * _tolerance && _limit <= _latencyFloor && startEpoch == Epoch)
        {
            // The baseline never drifts up on its own, or it would chase the queue we build. Still slow with no more
            // calls in flight than at the start means the work changed (longer answers), not the queue: measure again
            // from here, and search for the limit afresh.
            _baselineLatency = shortLatency;
            _recoverTo = double.PositiveInfinity;
        }

        if (startEpoch == _cutEpoch)
        {
            _cutPeak = Math.Max(_cutPeak, inFlightAtStart);
            _cutServed++;
            LowerRecoveryToWhatTheCutEpochShowed();
        }

        if (startEpoch == Epoch)
        {
            _bestInFlightThisEpoch = Math.Max(_bestInFlightThisEpoch, inFlightAtStart);
            if (_overloadLevel > 0 && inFlightAtStart > _overloadLevel * SameCapShare + 1)
            {
                // Clearly more worked than last overloaded: the cap moved, so it is searched for at the usual pace.
                _overloadLevel = 0;
                _probeStep = ProbeStep;
            }
        }

        if (_latencySamples >= LatencySamplesBeforeJudging && shortLatency > _baselineLatency * _tolerance)
        {
            if (startEpoch == Epoch && _limit > _latencyFloor)
            {
                // Slower answers mean a queue is building: cut in proportion to how much slower (a gradient, as
                // Netflix's concurrency-limits), leave slow start and probe gently from here. Latency alone never
                // takes the limit below its floor: answers of different lengths are slower without any queue.
                var factor = Math.Clamp(_tolerance * _baselineLatency!.Value / shortLatency, OverloadBackoff, LatencyBackoff);
                Cut(factor);
                _limit = Math.Max(_limit, _latencyFloor);
                _recoverTo = Math.Min(_recoverTo, _limit);
            }

            return;
        }

        if (GrowthHeld || inFlightAtStart < _limit * 0.5)
        {
            return;
        }

        // Up to the level that last overloaded, a cap that kept refusing there is approached ever more slowly; past
        // it without a refusal, at the usual probing pace.
        var step = _overloadLevel > 0 && _limit <= _overloadLevel ? _probeStep : ProbeStep;
        _limit = Math.Min(_ceiling, _limit < _recoverTo ? _limit + 1 : _limit + step / _limit);
    }

    /// <summary>
    /// The provider refused or could not keep up with a call (429, 503, timeout) that started with
    /// <paramref name="inFlightAtStart"/> calls in flight (itself included).
    /// </summary>
    public void OnOverload(long startEpoch, int inFlightAtStart)
    {
        if (!_adaptive)
        {
            return;
        }

        if (startEpoch != Epoch)
        {
            // Part of the burst that was already cut for: no second halving, but it says how many of the calls that
            // were in flight together the provider refused.
            if (startEpoch == _cutEpoch)
            {
                _cutPeak = Math.Max(_cutPeak, inFlightAtStart);
                _cutRefused++;
                LowerRecoveryToWhatTheCutEpochShowed();
            }

            return;
        }

        // Recover fast up to just below the most calls that last worked together; with no success since the last cut
        // (a burst of errors) the previous level stands. The first overload ends slow start, where the limit doubles
        // per round trip faster than successes report: the calls that came back had started at about half the level
        // that overloaded, so that level (the refused call's) is the better estimate of the capacity.
        if (double.IsPositiveInfinity(_recoverTo) && _bestInFlightThisEpoch > 0)
        {
            _recoverTo = Math.Max(1, Math.Max(_bestInFlightThisEpoch, inFlightAtStart - 1) * RecoveryShare);
        }
        else if (_bestInFlightThisEpoch > 0)
        {
            _recoverTo = Math.Max(1, _bestInFlightThisEpoch * RecoveryShare);
        }
        else if (double.IsPositiveInfinity(_recoverTo))
        {
            _recoverTo = Math.Max(1, _limit * RecoveryShare);
        }

        // The same cap refusing again: approach it more slowly next time, so its Retry-After is paid ever more rarely.
        _probeStep = _overloadLevel > 0 && inFlightAtStart <= _overloadLevel * SameCapShare + 1
            ? Math.Max(MinProbeStep, _probeStep / 2)
            : ProbeStep;
        _overloadLevel = Math.Max(1, inFlightAtStart);
        _cutEpoch = Epoch;
        _cutPeak = Math.Max(_bestInFlightThisEpoch, inFlightAtStart);
        _cutRefused = 1;
        _cutServed = 0;
        Cut(OverloadBackoff);
    }

    /// <summary>
    /// Of the calls in flight together when the provider began refusing, about (the most in flight) − (those refused)
    /// were served: the recovery level comes down to just below that. Only once one of them was served: when none is
    /// (an outage, every call failing) that count says nothing about capacity, and the level that last worked stands.
    /// </summary>
    private void LowerRecoveryToWhatTheCutEpochShowed()
    {
        if (_cutServed == 0 || double.IsPositiveInfinity(_recoverTo))
        {
            return;
        }

        var served = Math.Max(1, _cutPeak - _cutRefused);
        _recoverTo = Math.Min(_recoverTo, Math.Max(1, served * RecoveryShare));
    }

    private void Cut(double factor)
    {
        _limit = Math.Max(1, _limit * factor);
        _bestInFlightThisEpoch = 0;
        Epoch++;
    }
}
