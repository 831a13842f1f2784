using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PersonaGym.AppHost.LocalInfrastructure;

/// <summary>
/// Ports for servers this machine starts itself (the AppHost's local PostgreSQL and RabbitMQ, the test servers).
/// Shared as a linked source file by the AppHost and the test infrastructure.
/// </summary>
internal static class LoopbackPorts
{
    private const int Floor = 10_000;

    /// <summary>Default ports of the servers we start and of Aspire's dashboard, never handed out.</summary>
    private static readonly HashSet<int> WellKnown = [15672, 15180, 18888, 18889, 19180, 20180, 25672];

    /// <summary>
    /// A loopback port nobody listens on right now, chosen below the kernel's ephemeral range where possible.
    /// A server is told its port seconds before it binds it (initdb runs first; Erlang boots slowly); a port from
    /// the ephemeral range can meanwhile become the local end of one of the many outgoing connections a busy
    /// machine opens, and the server then fails with "address already in use".
    /// </summary>
    public static int Free()
    {
        var ephemeralStart = EphemeralRangeStart();
        if (ephemeralStart - Floor >= 1_000)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var port = Random.Shared.Next(Floor, ephemeralStart);
                if (!WellKnown.Contains(port) && CanListen(port)) return port;
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var any = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return any;
    }

    private static bool CanListen(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Linux's first ephemeral port (32768 by default); elsewhere, IANA's dynamic range.</summary>
    private static int EphemeralRangeStart()
    {
        const int ianaDynamicStart = 49_152;
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return ianaDynamicStart;
        }
    }
}
