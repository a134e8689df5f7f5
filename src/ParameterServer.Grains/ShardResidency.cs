using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ParameterServer.Abstractions.Telemetry;

namespace ParameterServer.Grains;

/// <summary>What one shard has done and holds, as read by the observable instruments.</summary>
internal readonly record struct ShardFigures(string Table, long Rows, long Bytes, long RowsPulled, long RowsPushed, long StepsApplied);

/// <summary>
/// The shards active in this process, read by observable instruments that sum them per table when an exporter
/// collects: resident rows and bytes (<c>ps.table.rows</c>, <c>ps.table.bytes</c>) and the counters
/// <c>ps.rows.pulled</c>, <c>ps.rows.pushed</c> and <c>ps.optimizer.steps</c>. Counting in plain fields of the
/// shard and summing only at collection keeps the hot path free of instrument calls. A shard adds itself when its
/// store is created and leaves on deactivation or reset (a counter of a table whose shards moved starts again,
/// which Prometheus reads as a counter reset).
/// </summary>
internal static class ShardResidency
{
    private static readonly ConcurrentDictionary<ShardGrain, byte> Active = new();

    static ShardResidency()
    {
        var meter = ParameterServerTelemetry.Meter;
        meter.CreateObservableGauge("ps.table.rows", () => Observe(f => f.Rows), "{row}", "Rows resident per table in this process.");
        meter.CreateObservableGauge("ps.table.bytes", () => Observe(f => f.Bytes), "By", "Bytes of values, optimizer state and index resident per table in this process.");
        meter.CreateObservableCounter("ps.rows.pulled", () => Observe(f => f.RowsPulled), "{row}", "Rows returned by shard pulls.");
        meter.CreateObservableCounter("ps.rows.pushed", () => Observe(f => f.RowsPushed), "{row}", "Rows received in shard pushes, applied or refused.");
        meter.CreateObservableCounter("ps.optimizer.steps", () => Observe(f => f.StepsApplied), "{step}", "Optimizer steps applied to rows, one per row per accepted push.");
    }

    public static void Add(ShardGrain shard) => Active[shard] = 0;

    public static void Remove(ShardGrain shard) => Active.TryRemove(shard, out _);

    private static IEnumerable<Measurement<long>> Observe(Func<ShardFigures, long> pick)
    {
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var shard in Active.Keys)
        {
            var f = shard.Figures;
            totals[f.Table] = totals.GetValueOrDefault(f.Table) + pick(f);
        }

        return totals.Select(kv => new Measurement<long>(kv.Value, ParameterServerTelemetry.Table(kv.Key)));
    }
}
