using System.Diagnostics;
using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>Where the table's shards live, as the step client routes by it.</summary>
public sealed partial class TableClient
{
    /// <summary>Least time between two look-ups of where the shards live.</summary>
    private static readonly TimeSpan PlacementLookUpInterval = TimeSpan.FromSeconds(1);

    private readonly ITableGrain _table;
    // The silo of each shard as last looked up (null entries: not known); null until the first look-up.
    private volatile SiloRoute?[]? _silos;
    private int _lookingUp;
    private long _lookedUpAt;
    private long _placementLookUps;

    /// <summary>Look-ups of where the shards live (the first, and one after each sign that a shard moved).</summary>
    public long PlacementLookUps => Interlocked.Read(ref _placementLookUps);

    /// <summary>The identity of the silo shard <paramref name="shard"/> lived on at the last look-up, or null when not known.</summary>
    public string? SiloOf(int shard) => RouteOf(shard)?.Silo;

    /// <summary>How to reach the silo shard <paramref name="shard"/> lived on at the last look-up, or null when not known.</summary>
    internal SiloRoute? RouteOf(int shard) => _silos is { } silos && (uint)shard < (uint)silos.Length ? silos[shard] : null;

    /// <summary>Looks up where the shards live now (each shard's silo, as <c>tables describe</c> shows it).</summary>
    public async Task RefreshPlacementAsync()
    {
        var info = await _table.Describe();
        var silos = new SiloRoute?[Spec.Shards];
        foreach (var shard in info.Shards)
        {
            if ((uint)shard.Index < (uint)silos.Length && !string.IsNullOrEmpty(shard.Silo))
            {
                silos[shard.Index] = new SiloRoute(shard.Silo, shard.Address, shard.Gateway, shard.StepSocket);
            }
        }

        _silos = silos;
    }

    /// <summary>
    /// Starts a look-up of where the shards live, in the background, unless one is running, or one ran in the last
    /// second and <paramref name="onlyFirst"/> is false; with <paramref name="onlyFirst"/>, only when none ever ran.
    /// A failed look-up leaves what was known (steps still work without it: they go to any silo, which reaches the
    /// shards from there).
    /// </summary>
    internal void LookUpPlacement(bool onlyFirst)
    {
        if (onlyFirst ? _silos is not null || Volatile.Read(ref _lookedUpAt) != 0 : Stopwatch.GetElapsedTime(Volatile.Read(ref _lookedUpAt)) < PlacementLookUpInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _lookingUp, 1, 0) != 0)
        {
            return;
        }

        Volatile.Write(ref _lookedUpAt, Stopwatch.GetTimestamp());
        Interlocked.Increment(ref _placementLookUps);
        _ = Task.Run(async () =>
        {
            try
            {
                await RefreshPlacementAsync();
            }
            catch (Exception)
            {
                // Routing by placement only saves hops; without it steps take the longer way, so a failure is not an error.
            }
            finally
            {
                Volatile.Write(ref _lookingUp, 0);
            }
        });
    }
}

/// <summary>A silo as a shard's description names it: its identity, its address and its gateway's endpoint (either may be unknown).</summary>
/// <param name="Silo">The silo's identity (<c>SiloAddress.ToString()</c>), as <c>tables describe</c> shows it.</param>
/// <param name="Address">The silo's address in parsable form, or null (from a silo before this field).</param>
/// <param name="Gateway">The endpoint of the silo's gateway (<c>ip:port</c>), or null when it has none.</param>
/// <param name="StepSocket">The endpoint of the silo's step socket (<c>ip:port</c>), or null when it has none.</param>
internal sealed record SiloRoute(string Silo, string? Address, string? Gateway, string? StepSocket = null);
