using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ParameterServer.Abstractions.Telemetry;

namespace ParameterServer.Grains;

/// <summary>
/// The shards active in this process, read by two observable gauges: rows and bytes resident per table
/// (<c>ps.table.rows</c>, <c>ps.table.bytes</c>). Shards add themselves when their store is created and leave on
/// deactivation or reset; the gauges sum them per table when an exporter collects.
/// </summary>
internal static class ShardResidency
{
    private static readonly ConcurrentDictionary<ShardGrain, byte> Active = new();

    static ShardResidency()
    {
        ParameterServerTelemetry.Meter.CreateObservableGauge("ps.table.rows", () => Observe(r => r.Rows), "{row}", "Rows resident per table in this process.");
        ParameterServerTelemetry.Meter.CreateObservableGauge("ps.table.bytes", () => Observe(r => r.Bytes), "By", "Bytes of values, optimizer state and index resident per table in this process.");
    }

    public static void Add(ShardGrain shard) => Active[shard] = 0;

    public static void Remove(ShardGrain shard) => Active.TryRemove(shard, out _);

    private static IEnumerable<Measurement<long>> Observe(Func<(string Table, long Rows, long Bytes), long> pick)
    {
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var shard in Active.Keys)
        {
            var r = shard.Residency;
            totals[r.Table] = totals.GetValueOrDefault(r.Table) + pick(r);
        }

        return totals.Select(kv => new Measurement<long>(kv.Value, ParameterServerTelemetry.Table(kv.Key)));
    }
}
