using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using ParameterServer.Abstractions;
using ParameterServer.Core.Routing;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Grains;

/// <summary>Reads that never create rows: peek, top-k search and label lookup.</summary>
public sealed partial class ShardGrain
{
    /// <inheritdoc/>
    public async Task<PeekResult> Peek(PullRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var store = await Store();
        long start = Stopwatch.GetTimestamp();
        var ids = request.Ids;
        var data = new byte[ids.Length * store.Dim * sizeof(float)];
        var found = new bool[ids.Length];
        var labels = new string?[ids.Length];
        lock (store)
        {
            store.Peek(ids, MemoryMarshal.Cast<byte, float>(data.AsSpan()), found);
            for (int i = 0; i < ids.Length; i++)
            {
                int slot = found[i] ? store.Find(ids[i]) : -1;
                labels[i] = slot >= 0 ? store.LabelAt(slot) : null;
            }
        }

        ShardDuration.Record(SecondsSince(start), _tableTag, PeekTag);
        return new PeekResult(new RowBlock(ids.Length, store.Dim, data), found, labels);
    }

    /// <inheritdoc/>
    public async Task<SearchResult> Search(ShardSearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var store = await Store();
        SearchChecks.Options(_table, request.K, request.Metric, request.Exclude, request.BiasTable, request.Probes);
        SearchChecks.Queries(_table, request.Queries, store.Dim);
        float[]? additive = request.BiasTable is { } biasTable ? await SlotValues(biasTable, store) : null;
        float[]? slotCounts = request.CountTable is { } countTable && request.MinCount > 0 ? await SlotValues(countTable, store) : null;
        long start = Stopwatch.GetTimestamp();
        long[] exclude = request.Exclude;
        if (!IsAscending(exclude))
        {
            exclude = [.. exclude];
            Array.Sort(exclude);
        }

        // The router may have added rows since the additive terms were read (rows it created meanwhile): they get 0.
        lock (store)
        {
            if (additive is not null && additive.Length < store.Count)
            {
                Array.Resize(ref additive, store.Count);
            }

            // Rows created after the counts were read have none: they count 0.
            if (slotCounts is not null && slotCounts.Length < store.Count)
            {
                Array.Resize(ref slotCounts, store.Count);
            }

            return SearchLocked(store, request, exclude, additive, slotCounts, start, request.Probes > 0 ? IndexFor(store, request.Metric) : null);
        }
    }

    private SearchResult SearchLocked(ShardStore store, ShardSearchRequest request, long[] exclude, float[]? additive, float[]? slotCounts, long start, IvfIndex? index)
    {
        var queries = request.Queries;
        int q = queries.Rows;
        int stride = ShardSearch.Stride(store, request.K);
        var ids = ArrayPool<long>.Shared.Rent(Math.Max(1, q * stride));
        var scores = ArrayPool<float>.Shared.Rent(Math.Max(1, q * stride));
        var slots = ArrayPool<int>.Shared.Rent(Math.Max(1, q * stride));
        try
        {
            var counts = new int[q];
            if (index is null)
            {
                ShardSearch.Run(store, queries.Values, request.K, request.Metric, exclude, additive, ids, scores, slots, counts, request.MinUpdates, slotCounts, request.MinCount);
            }
            else
            {
                ShardSearch.RunIndexed(store, index, request.Probes, queries.Values, request.K, request.Metric, exclude, additive, ids, scores, slots, counts, request.MinUpdates, slotCounts, request.MinCount);
            }

            var offsets = new int[q + 1];
            for (int i = 0; i < q; i++)
            {
                offsets[i + 1] = offsets[i] + counts[i];
            }

            int total = offsets[q];
            var outIds = new long[total];
            var outScores = new byte[total * sizeof(float)];
            var outFloats = MemoryMarshal.Cast<byte, float>(outScores.AsSpan());
            var labels = new string?[total];
            for (int i = 0; i < q; i++)
            {
                for (int j = 0; j < counts[i]; j++)
                {
                    int from = (i * stride) + j, to = offsets[i] + j;
                    outIds[to] = ids[from];
                    outFloats[to] = scores[from];
                    labels[to] = store.LabelAt(slots[from]);
                }
            }

            ShardDuration.Record(SecondsSince(start), _tableTag, SearchTag);
            return new SearchResult(request.Metric, offsets, outIds, outScores, labels) { IndexedShards = index is null ? 0 : 1 };
        }
        finally
        {
            ArrayPool<long>.Shared.Return(ids);
            ArrayPool<float>.Shared.Return(scores);
            ArrayPool<int>.Shared.Return(slots);
        }
    }

    /// <inheritdoc/>
    public async Task<LabelMatches> FindLabel(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        var store = await Store();
        List<long> exact = [], ignoringCase = [];
        lock (store)
        {
            store.FindLabel(label, exact, ignoringCase);
        }

        return new LabelMatches([.. exact], [.. ignoringCase]);
    }

    /// <summary>
    /// The value of each resident row's id in the dim-1 table <paramref name="table"/> (a bias or a training count),
    /// slot by slot; a row missing there reads as its initial value and none is created. One call per shard of it
    /// that holds any.
    /// </summary>
    private async Task<float[]> SlotValues(string table, ShardStore store)
    {
        var spec = await GrainFactory.GetGrain<ITableGrain>(table).Get()
            ?? throw new KeyNotFoundException($"Unknown table '{table}' (a bias or count table of '{_table}').");
        if (spec.Dim != 1)
        {
            throw new ArgumentException($"Table '{table}' has dim {spec.Dim}; a bias or count per row needs dim 1.");
        }

        long[] ids;
        lock (store)
        {
            ids = store.Ids.ToArray();
        }

        // Tables of one model share their shard count, so a shard's rows usually sit in one shard of the other: one call.
        var values = new float[ids.Length];
        using var plan = ShardPlan.Of(ids, spec.Shards);
        var calls = plan.Calls.Select(call => GrainFactory.GetGrain<IShardGrain>(ShardKey.Of(table, call.Shard)).Peek(new PullRequest(call.Ids))).ToArray();
        await Task.WhenAll(calls);
        for (int c = 0; c < calls.Length; c++)
        {
            plan.Scatter(plan.Calls[c], calls[c].Result.Rows.Values, values, 1);
        }

        return values;
    }

    private static bool IsAscending(long[] ids)
    {
        for (int i = 1; i < ids.Length; i++)
        {
            if (ids[i] < ids[i - 1])
            {
                return false;
            }
        }

        return true;
    }
}
