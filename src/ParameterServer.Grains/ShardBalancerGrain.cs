using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Abstractions;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Grains;

/// <summary>
/// Spreads every table's shards over the active silos (<see cref="IShardBalancerGrain"/>). One activation in the
/// cluster, so two balances never plan against each other; it remembers silos that said they are leaving, so a balance
/// asked for by another silo does not send shards back to one that is moving them away.
/// </summary>
public sealed partial class ShardBalancerGrain(IClusterMembershipService membership, IClusterManifestProvider manifests, BalancingOptions options, ILogger<ShardBalancerGrain> logger) : Grain, IShardBalancerGrain
{
    // The last balance that found nothing to move: when, over which silos and which tables (see Balance).
    private (long At, string[] Silos, string[] Tables)? _settled;

    /// <summary>How long a silo that said it is leaving is kept out of balances (it is out of the membership by then).</summary>
    private static readonly TimeSpan LeavingFor = TimeSpan.FromMinutes(5);

    private readonly Dictionary<SiloAddress, DateTimeOffset> _leaving = [];

    /// <inheritdoc/>
    public async Task<int> Balance(SiloAddress? leaving)
    {
        var now = DateTimeOffset.UtcNow;
        if (leaving is not null)
        {
            _leaving[leaving] = now + LeavingFor;
        }

        foreach (var (silo, until) in _leaving.ToArray())
        {
            if (until < now)
            {
                _leaving.Remove(silo);
            }
        }

        // Active, not leaving, and with its grain types known here: a silo whose manifest has not arrived yet cannot
        // take a shard (see ShardGrain.MoveTo), and planning for it would leave the others short of their share.
        var known = manifests.Current.Silos;
        var silos = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !_leaving.ContainsKey(m.SiloAddress) && known.ContainsKey(m.SiloAddress))
            .Select(m => m.SiloAddress)
            .OrderBy(s => s.ToString(), StringComparer.Ordinal)
            .ToArray();
        if (silos.Length == 0 || (silos.Length == 1 && leaving is null && _leaving.Count == 0))
        {
            return 0; // one silo and no one leaving: every shard is where it must be
        }

        var names = silos.Select(s => s.ToString()).ToArray();
        string[] tables = [.. await GrainFactory.GetGrain<ITableCatalogGrain>(0).List()];
        // Every silo asks once per interval, so N silos asked N times; each balance describes every shard of every
        // table. A periodic ask that comes within half an interval of a balance that moved nothing, over the same
        // silos and tables, is answered from it: about one balance per interval for the whole cluster, not one per silo.
        if (leaving is null && _settled is { } settled && Stopwatch.GetElapsedTime(settled.At) < options.Interval / 2 && names.SequenceEqual(settled.Silos) && tables.SequenceEqual(settled.Tables))
        {
            return 0;
        }

        int moves = 0;
        foreach (string table in tables)
        {
            TableInfo info;
            try
            {
                info = await GrainFactory.GetGrain<ITableGrain>(table).Describe();
            }
            catch (KeyNotFoundException)
            {
                continue; // dropped since the list was read
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or OrleansException)
            {
                // A shard that cannot start (lost checkpoints) or does not answer: balance the other tables.
                LogTableSkipped(table, e.Message);
                continue;
            }

            var placement = new string?[info.Spec.Shards];
            foreach (var shard in info.Shards)
            {
                if ((uint)shard.Index < (uint)placement.Length)
                {
                    placement[shard.Index] = string.IsNullOrEmpty(shard.Silo) ? null : shard.Silo;
                }
            }

            foreach (var (shard, to) in ShardBalance.Plan(placement, names))
            {
                if (await GrainFactory.GetGrain<IShardGrain>(ShardKey.Of(table, shard)).MoveTo(silos[to]))
                {
                    moves++;
                    ShardMovesRequested.Add(1, Table(table));
                }
            }
        }

        if (moves > 0)
        {
            LogBalanced(moves, silos.Length, leaving?.ToString() ?? "none");
        }

        _settled = moves == 0 ? (Stopwatch.GetTimestamp(), names, tables) : null;
        return moves;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Balancer skipped table {Table}: {Reason}")]
    private partial void LogTableSkipped(string table, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Balancer asked {Moves} shards to move over {Silos} active silos (leaving: {Leaving})")]
    private partial void LogBalanced(int moves, int silos, string leaving);
}
