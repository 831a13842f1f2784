using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;
using PersonaGym.Models.Tests.Support;

namespace PersonaGym.Models.Tests;

/// <summary>Each model's concurrency, learnt from its provider, on a fake clock against a simulated provider.</summary>
public class AdaptiveConcurrencyTests
{
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(500);

    private static ModelPipelineSettings Settings(int? maxConcurrency = null, int initial = 4, bool adaptive = true) =>
        new(MaxAttempts: 4, BaseDelay: TimeSpan.FromSeconds(1), MaxDelay: TimeSpan.FromSeconds(30), MaxConcurrency: maxConcurrency,
            RequestsPerMinute: null, TokensPerMinute: null, Timeout: TimeSpan.FromMinutes(5), CacheEnabled: false,
            AdaptiveConcurrency: adaptive, InitialConcurrency: initial);

    /// <summary>A provider that serves 64 calls at once in 0.3-0.7 s each (so calls overlap as a real provider's do) and refuses the next with a 1 s Retry-After.</summary>
    private static SimulatedProvider HardCap64(FakeTimeProvider time, int seed)
    {
        var random = new Random(seed);
        return new SimulatedProvider(time)
        {
            Capacity = 64, Latency = _ => TimeSpan.FromMilliseconds(300 + random.Next(400)), RetryAfter = TimeSpan.FromSeconds(1),
        };
    }

    /// <summary>When the limit went down, from the samples the provider took after every event.</summary>
    private static List<DateTimeOffset> CutTimes(SimulatedProvider provider)
    {
        var samples = provider.Limits;
        return [.. Enumerable.Range(1, samples.Count - 1).Where(i => samples[i].Limit < samples[i - 1].Limit).Select(i => samples[i].At)];
    }

    private static ModelCallException TooManyRequests(TimeSpan? retryAfter = null) =>
        new("openai:sim", ModelFailureKind.RateLimited, 429, "rate limited", retryAfter);

    [Fact]
    public void With_no_concurrency_configured_it_converges_near_the_providers_hidden_capacity()
    {
        var time = new FakeTimeProvider();
        var provider = new SimulatedProvider(time) { Capacity = 40 };
        var limiter = new ModelRateLimiter(Settings(), time);

        var start = time.GetUtcNow();
        provider.Run(limiter, TimeSpan.FromSeconds(120));

        var settled = provider.MeanLimitSince(start + TimeSpan.FromSeconds(20));
        Assert.InRange(settled, 0.8 * 40, 41);
        Assert.Equal(40, provider.MaxInFlight);
        // Served calls per second, against the 80/s the provider can give at 0.5 s each.
        var servedPerSecond = provider.Succeeded / 120.0;
        Assert.True(servedPerSecond >= 0.85 * 80, $"served {servedPerSecond:F1} calls/s of 80");
        Assert.True(provider.Refused < 0.02 * provider.Succeeded, $"{provider.Refused} refused of {provider.Succeeded} served");
    }

    [Fact]
    public void The_overload_that_ends_slow_start_is_recovered_from_up_to_just_below_the_level_that_overloaded()
    {
        // Slow start doubles the limit per round trip, faster than successes report: when the first 429 comes back,
        // the calls that came back had started at about half the level that overloaded. Recovering only to their
        // level and probing from there took a 0.5 s model some 15 s to reach its capacity again. Answers that take
        // 0.3-0.7 s (not all the same) let the calls overlap as a real provider's do.
        var time = new FakeTimeProvider();
        var random = new Random(7);
        var provider = new SimulatedProvider(time) { Capacity = 64, Latency = _ => TimeSpan.FromMilliseconds(300 + random.Next(400)) };
        var limiter = new ModelRateLimiter(Settings(), time);

        provider.Run(limiter, TimeSpan.FromSeconds(10));

        var samples = provider.Limits;
        var cut = Enumerable.Range(1, samples.Count - 1).First(i => samples[i].Limit < samples[i - 1].Limit);
        var after = samples.Where(l => l.At >= samples[cut].At + TimeSpan.FromSeconds(2)).Select(l => l.Limit).First();
        Assert.True(after >= 0.85 * 64, $"the limit was {after} 2 s after slow start's overload (from {samples[cut - 1].Limit} to {samples[cut].Limit})");
    }

    [Fact]
    public void At_a_hard_cap_with_retry_after_the_limit_probes_past_its_last_overload_rarely()
    {
        // Each probe past the cap is a 429 whose Retry-After holds every call of the model: probing by +1 per round
        // trip cost a third of the throughput of a 0.5 s model at capacity 64 (bench/README.md, fifth round).
        var time = new FakeTimeProvider();
        var provider = HardCap64(time, seed: 11);
        var limiter = new ModelRateLimiter(Settings(), time);

        provider.Run(limiter, TimeSpan.FromSeconds(60));

        var cuts = CutTimes(provider).Count;
        var servedPerSecond = provider.Succeeded / 60.0;
        Assert.True(cuts <= 8 && servedPerSecond >= 0.83 * 128,
            $"{cuts} cuts in 60 s; served {servedPerSecond:F1} calls/s of 128");
    }

    [Fact]
    public void A_cap_that_keeps_refusing_at_the_same_level_is_probed_ever_more_rarely()
    {
        // A long run at a hard cap: with the same probing pace for ever, every probe past the cap costs a 429 and a
        // 1 s hold of all the model's calls, some eight times a minute; approached more slowly each time it refuses
        // at the same level, the cap is probed a few times in the first minute and rarely after.
        var time = new FakeTimeProvider();
        var provider = HardCap64(time, seed: 13);
        var limiter = new ModelRateLimiter(Settings(), time);
        var start = time.GetUtcNow();

        provider.Run(limiter, TimeSpan.FromSeconds(180));

        var cutTimes = CutTimes(provider);
        var lateCuts = cutTimes.Count(at => at >= start + TimeSpan.FromSeconds(60));
        var servedPerSecond = provider.Succeeded / 180.0;
        // The law before this one: 22 cuts, 15 of them after the first minute, 88 % of the provider's throughput.
        Assert.True(lateCuts <= 5 && servedPerSecond >= 0.9 * 128,
            $"{cutTimes.Count} cuts in 180 s, {lateCuts} of them after the first minute; served {servedPerSecond:F1} calls/s of 128");
    }

    [Fact]
    public void Calls_refused_out_of_the_order_they_started_in_do_not_lift_the_recovery_level_above_the_cap()
    {
        // Replays what the bench recorded at a cap of 64: slow start let 81 calls go, they reached the provider in any
        // order, and the first refusal back was a call that had started with 75 in flight. Recovering to just below
        // that level put the limit back above the cap within a round trip after every cut: another burst of
        // refusals, another Retry-After hold, half the throughput and 5-11 % of calls refused for the whole run.
        var limit = new AdaptiveConcurrencyLimit(adaptive: true, initial: 4, ceiling: 512, tolerance: 2);
        var latency = TimeSpan.FromMilliseconds(500);
        while (limit.Limit < 81)
        {
            limit.OnSuccess(latency, startEpoch: 0, inFlightAtStart: Math.Min(45, limit.Limit));
        }

        limit.OnOverload(startEpoch: 0, inFlightAtStart: 75);
        Assert.InRange(limit.Limit, 40, 41);
        // The rest of the burst: 14 more refused, started with 65-78 in flight; then the 64 the provider served.
        foreach (var level in new[] { 68, 67, 71, 70, 65, 69, 69, 72, 67, 66, 66, 78, 74, 68 })
        {
            limit.OnOverload(startEpoch: 0, inFlightAtStart: level);
        }

        for (var served = 1; served <= 64; served++)
        {
            limit.OnSuccess(latency, startEpoch: 0, inFlightAtStart: served);
        }

        // 78 in flight together, 15 of them refused: about 63 served, so the limit recovers to just below that.
        Assert.InRange(limit.Limit, 55, 63);
    }

    [Fact]
    public void A_cap_that_rises_after_being_probed_rarely_is_found_within_a_minute_or_two()
    {
        var time = new FakeTimeProvider();
        var provider = HardCap64(time, seed: 17);
        var limiter = new ModelRateLimiter(Settings(), time);
        provider.Run(limiter, TimeSpan.FromSeconds(180));

        provider.Capacity = 96;
        var raised = time.GetUtcNow();
        provider.Run(limiter, TimeSpan.FromSeconds(120));

        var found = provider.Limits.FirstOrDefault(l => l.At >= raised && l.Limit >= 0.85 * 96);
        Assert.True(found != default, $"the limit stayed below {0.85 * 96} for 120 s after the cap rose to 96 (last {limiter.Current.Limit})");
        Assert.True(found.At - raised <= TimeSpan.FromSeconds(90), $"took {found.At - raised} to reach {found.Limit}");
    }

    [Fact]
    public void A_provider_that_queues_instead_of_refusing_is_found_by_its_rising_latency()
    {
        // vLLM-like: 16 slots; more calls wait in its queue, so latency grows with load and nothing is refused.
        var time = new FakeTimeProvider();
        var provider = new SimulatedProvider(time) { Latency = inFlight => Latency * Math.Max(1.0, inFlight / 16.0) };
        var limiter = new ModelRateLimiter(Settings(), time);

        var start = time.GetUtcNow();
        provider.Run(limiter, TimeSpan.FromSeconds(120));

        // Tolerance 2 lets latency double before cutting: the limit settles between the slots and twice the slots,
        // with the provider busy (throughput near its 32 calls/s) but not drowned in queued work.
        Assert.InRange(provider.MeanLimitSince(start + TimeSpan.FromSeconds(20)), 16, 2.2 * 16);
        Assert.True(provider.Succeeded / 120.0 >= 0.9 * 32, $"served {provider.Succeeded / 120.0:F1} calls/s of 32");
        // The search doubles per round trip and latency reports a round trip late, so it overshoots once, boundedly.
        Assert.True(provider.MaxInFlight <= 4 * 16, $"the provider had {provider.MaxInFlight} in flight");
    }

    [Fact]
    public void A_one_slot_server_that_queues_brings_a_limit_that_started_at_16_down_to_a_few_calls()
    {
        // A small local model (one slot, the rest waits in its queue): latency grows with every call in flight.
        var time = new FakeTimeProvider();
        var provider = new SimulatedProvider(time) { Latency = inFlight => Latency * inFlight };
        var limiter = new ModelRateLimiter(Settings(initial: new ModelPipelineOptions().InitialConcurrency), time);
        Assert.Equal(16, limiter.Current.Limit);

        var start = time.GetUtcNow();
        provider.Run(limiter, TimeSpan.FromSeconds(300));

        // Each call in flight beyond the slot only makes every answer slower. Latency may not take the limit below its
        // floor of 4, but it must take it there from the start of 16: the law starting at 4 averaged 9 here, and a
        // floor at the start (16) kept it at 26.
        var mean = provider.MeanLimitSince(start + TimeSpan.FromSeconds(60));
        Assert.True(mean <= 12, $"the limit averaged {mean:F1} with one slot");
    }

    [Fact]
    public void A_429_halves_the_limit_once_for_a_burst_of_refusals()
    {
        var time = new FakeTimeProvider();
        var limiter = new ModelRateLimiter(Settings(initial: 16), time);
        var leases = Enumerable.Range(0, 16).Select(_ => limiter.TryEnter()!).ToList();
        Assert.Null(limiter.TryEnter());

        leases[0].Failed(TooManyRequests());
        Assert.Equal(8, limiter.Current.Limit);

        // Refusals of calls started before the cut are the same congestion event.
        leases[1].Failed(TooManyRequests());
        leases[2].Failed(TooManyRequests());
        Assert.Equal(8, limiter.Current.Limit);
        Assert.Equal(13, limiter.Current.InFlight);
        Assert.Null(limiter.TryEnter());
    }

    [Fact]
    public async Task After_a_429_with_retry_after_no_call_starts_until_the_wait_is_over()
    {
        var time = new FakeTimeProvider();
        var limiter = new ModelRateLimiter(Settings(initial: 4), time);
        var refused = limiter.TryEnter()!;
        refused.Failed(TooManyRequests(TimeSpan.FromSeconds(5)));

        Assert.Null(limiter.TryEnter());
        var waiting = limiter.EnterAsync(CancellationToken.None).AsTask();
        time.Advance(TimeSpan.FromSeconds(4.9));
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        Assert.NotNull(limiter.Current.HeldFor);

        time.Advance(TimeSpan.FromSeconds(0.1));
        using var lease = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, limiter.Current.InFlight);
    }

    [Fact]
    public void A_configured_max_concurrency_is_a_ceiling_the_limit_never_passes()
    {
        var time = new FakeTimeProvider();
        var provider = new SimulatedProvider(time) { Capacity = 1000 };
        var limiter = new ModelRateLimiter(Settings(maxConcurrency: 10), time);

        provider.Run(limiter, TimeSpan.FromSeconds(30));

        Assert.Equal(10, provider.Limits.Max(l => l.Limit));
        Assert.Equal(10, provider.MaxInFlight);
        Assert.Equal(10, limiter.Current.Ceiling);
    }

    [Fact]
    public void After_a_burst_of_errors_the_limit_climbs_back_within_seconds()
    {
        var time = new FakeTimeProvider();
        var provider = new SimulatedProvider(time) { Capacity = 40 };
        var limiter = new ModelRateLimiter(Settings(), time);
        provider.Run(limiter, TimeSpan.FromSeconds(30));

        provider.Outage = true;
        provider.Run(limiter, TimeSpan.FromSeconds(10));
        Assert.True(limiter.Current.Limit <= 2, $"limit {limiter.Current.Limit} during the outage");

        provider.Outage = false;
        var recovered = time.GetUtcNow();
        provider.Run(limiter, TimeSpan.FromSeconds(10));

        var firstNearCapacity = provider.Limits.First(l => l.At >= recovered && l.Limit >= 0.8 * 40).At;
        Assert.True(firstNearCapacity - recovered <= TimeSpan.FromSeconds(5), $"took {firstNearCapacity - recovered} to recover");
    }

    [Fact]
    public void With_adaptation_off_the_configured_concurrency_is_fixed()
    {
        var time = new FakeTimeProvider();
        var limiter = new ModelRateLimiter(Settings(maxConcurrency: 6, adaptive: false), time);
        var leases = Enumerable.Range(0, 6).Select(_ => limiter.TryEnter()!).ToList();

        leases[0].Failed(TooManyRequests());
        foreach (var lease in leases.Skip(1))
        {
            lease.Succeeded();
        }

        Assert.Equal(6, limiter.Current.Limit);
    }

    [Fact]
    public async Task Headers_saying_no_requests_remain_hold_new_calls_until_the_window_resets()
    {
        var time = new FakeTimeProvider();
        var limiter = new ModelRateLimiter(Settings(initial: 4), time);

        limiter.Observe(new ProviderRateLimits(RemainingRequests: 0, RequestsReset: TimeSpan.FromSeconds(2), RemainingTokens: 5000, TokensReset: null, RetryAfter: null));

        Assert.Null(limiter.TryEnter());
        var waiting = limiter.EnterAsync(CancellationToken.None).AsTask();
        time.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
    }

    [Fact]
    public void Headers_saying_few_requests_remain_stop_the_limit_growing()
    {
        var time = new FakeTimeProvider();
        var limiter = new ModelRateLimiter(Settings(initial: 4), time);
        limiter.Observe(new ProviderRateLimits(RemainingRequests: 3, RequestsReset: TimeSpan.FromSeconds(30), RemainingTokens: null, TokensReset: null, RetryAfter: null));

        for (var i = 0; i < 20; i++)
        {
            var leases = Enumerable.Range(0, limiter.Current.Limit).Select(_ => limiter.TryEnter()!).ToList();
            leases.ForEach(l => l.Succeeded());
        }

        Assert.Equal(4, limiter.Current.Limit);
    }

    [Fact]
    public void OpenAI_and_Anthropic_rate_limit_headers_are_read()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var openai = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["x-ratelimit-remaining-requests"] = "59", ["x-ratelimit-reset-requests"] = "1m0.5s",
            ["x-ratelimit-remaining-tokens"] = "149000", ["x-ratelimit-reset-tokens"] = "20ms",
            ["retry-after-ms"] = "1500", ["retry-after"] = "2",
        };
        var anthropic = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["anthropic-ratelimit-requests-remaining"] = "0", ["anthropic-ratelimit-requests-reset"] = "2026-01-01T12:00:07Z",
            ["anthropic-ratelimit-input-tokens-remaining"] = "9000", ["anthropic-ratelimit-input-tokens-reset"] = "2026-01-01T12:00:03Z",
            ["anthropic-ratelimit-output-tokens-remaining"] = "400", ["anthropic-ratelimit-output-tokens-reset"] = "2026-01-01T12:00:09Z",
            ["retry-after"] = "7",
        };

        var fromOpenAI = ProviderRateLimits.From(n => openai.GetValueOrDefault(n), 429, now);
        var fromAnthropic = ProviderRateLimits.From(n => anthropic.GetValueOrDefault(n), 429, now);
        var fromSuccess = ProviderRateLimits.From(n => openai.GetValueOrDefault(n), 200, now);

        Assert.Equal(new ProviderRateLimits(59, TimeSpan.FromSeconds(60.5), 149000, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(1500)), fromOpenAI);
        Assert.Equal(new ProviderRateLimits(0, TimeSpan.FromSeconds(7), 400, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(7)), fromAnthropic);
        Assert.Null(fromSuccess.RetryAfter);
        Assert.Null(ProviderRateLimits.Duration("soon"));
    }

    [Fact]
    public async Task Rate_limit_headers_of_an_openai_compatible_server_reach_the_models_limiter_through_the_sdk()
    {
        const string completion = """
            {"id":"c","object":"chat.completion","created":1700000000,"model":"m",
             "choices":[{"index":0,"message":{"role":"assistant","content":"answer"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}
            """;
        await using var server = await StubServer.StartAsync((_, context) => StubServer.WriteJsonAsync(context, 200, completion,
            ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "30s")));
        var time = new FakeTimeProvider();
        await using var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration()), TestModels.FastOptions(), null, new ListRecorder(), null, time);
        var spec = $"openai:m@{server.BaseAddress}v1";
        var client = pipeline.GetChatClient(spec);

        await client.GetResponseAsync("first");
        var second = client.GetResponseAsync("second");
        await Task.Delay(100);

        Assert.False(second.IsCompleted);
        Assert.Equal(1, server.Count);
        Assert.Equal(TimeSpan.FromSeconds(30), pipeline.Concurrency()[spec].HeldFor);
        time.Advance(TimeSpan.FromSeconds(30));
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, server.Count);
    }

    [Fact]
    public async Task Each_models_current_limit_is_queryable_and_published_as_a_metric()
    {
        var offline = new CallbackChatClient((_, _, _) => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok"))));
        var options = TestModels.FastOptions();
        options.MaxConcurrency = null;
        options.InitialConcurrency = 3;
        await using var pipeline = new ModelPipelineFactory(TestModels.Clients(TestModels.Configuration(), _ => offline), options, null, new ListRecorder(), null, new FakeTimeProvider());
        await pipeline.GetChatClient("offline:sim").GetResponseAsync("q");

        var measured = new List<(int Value, string? Model)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "PersonaGym" && instrument.Name == ModelPipelineFactory.ConcurrencyLimitInstrument)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
            measured.Add((value, tags.ToArray().FirstOrDefault(t => t.Key == "gen_ai.request.model").Value as string)));
        listener.Start();
        listener.RecordObservableInstruments();

        var current = pipeline.Concurrency()["offline:sim"];
        Assert.Equal((3, ModelRateLimiter.UnconfiguredCeiling, 0), (current.Limit, current.Ceiling, current.InFlight));
        Assert.Contains((3, "offline:sim"), measured);
    }
}
