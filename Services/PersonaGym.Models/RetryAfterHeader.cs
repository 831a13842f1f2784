using System.Globalization;

namespace PersonaGym.Models;

/// <summary>Reads the wait a provider asks for: <c>Retry-After</c> (delta-seconds or HTTP-date, RFC 9110 §10.2.3) and OpenAI's <c>retry-after-ms</c>.</summary>
public static class RetryAfterHeader
{
    public static bool TryParse(string? value, DateTimeOffset now, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        value = value.Trim();
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            delay = TimeSpan.FromSeconds(seconds);
            return true;
        }

        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            || DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at))
        {
            delay = at > now ? at - now : TimeSpan.Zero;
            return true;
        }

        return false;
    }

    public static bool TryParseMilliseconds(string? value, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        if (double.TryParse(value?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
        {
            delay = TimeSpan.FromMilliseconds(ms);
            return true;
        }

        return false;
    }
}
