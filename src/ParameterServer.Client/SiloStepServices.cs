using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>
/// How a step client reaches each silo's step services (<see cref="ISiloStepService"/>): at the silo's gateway when
/// the client is connected to it, so the message goes there directly, else at the silo's own address through
/// whichever gateway (or, from inside a silo, silo to silo). A client learns of a new silo's gateway only when it
/// next reads the gateway list; a call to a gateway it does not know yet fails, so after a failed call a silo is
/// reached the longer way for a while before its gateway is tried again. Thread-safe.
/// </summary>
internal sealed class SiloStepServices(IGrainFactory grains, IStepService anySilo, Func<IPEndPoint, bool>? connectedGateway)
{
    /// <summary>How long a silo whose gateway failed a call is reached through any gateway before its own is tried again.</summary>
    private static readonly TimeSpan GatewayRetryAfter = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Silo> _silos = new(StringComparer.Ordinal);
    private int _next;

    /// <summary>One of <paramref name="route"/>'s step services, in turn; any silo's router when the route is unknown or has no address.</summary>
    public IStepService Of(SiloRoute? route)
    {
        if (route?.Address is null)
        {
            return anySilo;
        }

        var silo = _silos.GetOrAdd(route.Silo, static (_, arg) => arg.Self.Create(arg.Route), (Self: this, Route: route));
        var services = silo.Direct is { } direct && Stopwatch.GetTimestamp() >= Volatile.Read(ref silo.DirectAfter) ? direct : silo.Indirect;
        return services[(int)((uint)Interlocked.Increment(ref _next) % (uint)services.Length)];
    }

    /// <summary>A call to <paramref name="route"/> failed with a transient error: reach it through any gateway for a while.</summary>
    public void Failed(SiloRoute? route)
    {
        if (route is not null && _silos.TryGetValue(route.Silo, out var silo) && silo.Direct is not null)
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
        return new Silo(direct, indirect);
    }

    private IStepService[] Services(SiloAddress address) =>
        [.. Enumerable.Range(0, SiloStepServiceId.PerSilo).Select(n => grains.GetGrain<ISiloStepService>(SiloStepServiceId.At(n, address)))];

    private sealed class Silo(IStepService[]? direct, IStepService[] indirect)
    {
        public long DirectAfter;

        public IStepService[]? Direct { get; } = direct;

        public IStepService[] Indirect { get; } = indirect;
    }
}
