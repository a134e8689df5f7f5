using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Orleans.Serialization;
using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>
/// How a step client reaches each silo's step services (<see cref="ISiloStepService"/>): at the silo's gateway when
/// the client is connected to it, so the message goes there directly, else at the silo's own address through
/// whichever gateway (or, from inside a silo, silo to silo). A client learns of a new silo's gateway only when it
/// next reads the gateway list; a call to a gateway it does not know yet fails, so after a failed call a silo is
/// reached the longer way for a while before its gateway is tried again. With <paramref name="serializer"/> (a client in
/// another process than the silo), a silo that advertises a step socket is reached there first
/// (<see cref="SocketStepService"/>, two connections used in turn); after a failed call the silo is reached through
/// Orleans for the same while. Thread-safe.
/// </summary>
internal sealed class SiloStepServices(IGrainFactory grains, IStepService anySilo, Func<IPEndPoint, bool>? connectedGateway, Serializer? serializer = null)
{
    /// <summary>Connections a client opens to one silo's step socket, used in turn (a worker runs two step loops by default).</summary>
    private const int SocketsPerSilo = 2;

    /// <summary>How long a silo whose gateway failed a call is reached through any gateway before its own is tried again.</summary>
    private static readonly TimeSpan GatewayRetryAfter = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Silo> _silos = new(StringComparer.Ordinal);
    private int _next;
    private long _socketCalls;

    /// <summary>Calls sent to step sockets so far.</summary>
    public long SocketCalls => Interlocked.Read(ref _socketCalls);

    /// <summary>
    /// One of <paramref name="route"/>'s step services, in turn: its step socket, else its gateway, else its address
    /// through any gateway (the last also for a while after a call to it failed); any silo's router when the route is
    /// unknown or has no address.
    /// </summary>
    public IStepService Of(SiloRoute? route)
    {
        if (route?.Address is null)
        {
            return anySilo;
        }

        var silo = _silos.GetOrAdd(route.Silo, static (_, arg) => arg.Self.Create(arg.Route), (Self: this, Route: route));
        bool direct = Stopwatch.GetTimestamp() >= Volatile.Read(ref silo.DirectAfter);
        if (direct && silo.Sockets is { } sockets)
        {
            Interlocked.Increment(ref _socketCalls);
            return sockets[(int)((uint)Interlocked.Increment(ref _next) % (uint)sockets.Length)];
        }

        var services = direct && silo.Direct is { } gateway ? gateway : silo.Indirect;
        return services[(int)((uint)Interlocked.Increment(ref _next) % (uint)services.Length)];
    }

    /// <summary>
    /// A call to <paramref name="route"/> failed with a transient error (<paramref name="error"/>): reach it through any
    /// gateway for a while. A step socket that accepted no connection (a firewall, an address this client cannot
    /// reach) is not tried again for this silo: each try would cost a step the connect timeout.
    /// </summary>
    public void Failed(SiloRoute? route, Exception? error = null)
    {
        if (route is null || !_silos.TryGetValue(route.Silo, out var silo))
        {
            return;
        }

        if (error is StepSocketUnreachableException || error?.InnerException is StepSocketUnreachableException)
        {
            silo.Sockets = null;
        }

        if (silo.Direct is not null || silo.Sockets is not null)
        {
            Volatile.Write(ref silo.DirectAfter, Stopwatch.GetTimestamp() + (long)(GatewayRetryAfter.TotalSeconds * Stopwatch.Frequency));
        }
    }

    private Silo Create(SiloRoute route)
    {
        var indirect = Services(SiloAddress.FromParsableString(route.Address!));
        var direct = route.Gateway is { } gateway && connectedGateway is { } connected && IPEndPoint.TryParse(gateway, out var endpoint) && connected(endpoint)
            ? Services(SiloAddress.New(endpoint, 0))
            : null;
        IStepService[]? sockets = route.StepSocket is { } socket && serializer is not null && IPEndPoint.TryParse(socket, out var at)
            ? [.. Enumerable.Range(0, SocketsPerSilo).Select(_ => new SocketStepService(at, serializer))]
            : null;
        return new Silo(sockets, direct, indirect);
    }

    private IStepService[] Services(SiloAddress address) =>
        [.. Enumerable.Range(0, SiloStepServiceId.PerSilo).Select(n => grains.GetGrain<ISiloStepService>(SiloStepServiceId.At(n, address)))];

    private sealed class Silo(IStepService[]? sockets, IStepService[]? direct, IStepService[] indirect)
    {
        public long DirectAfter;

        // Set to null, for good, when the socket accepted no connection.
        public volatile IStepService[]? Sockets = sockets;

        public IStepService[]? Direct { get; } = direct;

        public IStepService[] Indirect { get; } = indirect;
    }
}
