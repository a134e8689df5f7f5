using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Abstractions;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;

namespace ParameterServer.Grains;

/// <summary>
/// The shard's indexes for approximate search (<see cref="IvfIndex"/>): one filing rows by position (dot and euclidean
/// searches) and one by direction (cosine), each built when a search first needs it, from a copy of the rows on a
/// pool thread, so pushes and exact searches go on meanwhile, and built again when the rows have changed enough
/// (<see cref="IvfIndex.IsStale"/>). They live with the activation: a shard that moves or restarts builds them again
/// on the first approximate search.
/// </summary>
public sealed partial class ShardGrain
{
    // Per kind (0: by position, 1: by direction). The index is written by its build on a pool thread and read in the
    // grain's turns; the rest only in the grain's turns, except the build's timing (Volatile).
    private readonly IndexSlot[] _indexes = [new(), new()];

    private sealed class IndexSlot
    {
        public volatile IvfIndex? Index;
        // The build in progress (or the last one).
        public Task<IvfIndex>? Building;
        // When the last build ended and how long it took (Stopwatch ticks): a stale index is rebuilt no sooner than
        // ten builds' time after the last, so searches during training spend at most about a tenth of a core on it.
        public long Ended, Took;
    }

    private static int KindOf(SimilarityMetric metric) => metric == SimilarityMetric.Cosine ? 1 : 0;

    /// <inheritdoc/>
    public async Task<IndexInfo> BuildIndex(int lists, SimilarityMetric metric)
    {
        if (lists is < 0 or > QueryLimits.MaxProbes)
        {
            throw new ArgumentException($"Index of table '{_table}' refused: lists must be 0 (about √rows) to {QueryLimits.MaxProbes}; got {lists}.");
        }

        SimilarityMetrics.Validate(metric);
        var store = await Store();
        long start = Stopwatch.GetTimestamp();
        Task<IvfIndex> building;
        lock (store)
        {
            building = StartIndexing(store, KindOf(metric), lists, again: true);
        }

        var index = await building;
        return new IndexInfo(index.Rows, index.Lists, index.Bytes, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>
    /// The index a search by <paramref name="metric"/> with probes uses now, or null while the shard's first of its
    /// kind is being built (the search is then exact); starts a build when there is none or it is stale. Called
    /// holding the store's lock.
    /// </summary>
    private IvfIndex? IndexFor(ShardStore store, SimilarityMetric metric)
    {
        int kind = KindOf(metric);
        var slot = _indexes[kind];
        var index = slot.Index;
        bool usable = index is not null && index.Generation == store.Generation && index.Rows <= store.Count;
        bool rested = Stopwatch.GetTimestamp() - Volatile.Read(ref slot.Ended) >= 10 * Volatile.Read(ref slot.Took);
        if (!usable || (rested && index!.IsStale(store.Count, store.Generation, store.TotalSteps)))
        {
            StartIndexing(store, kind, lists: 0, again: false);
        }

        return usable ? index : null;
    }

    /// <summary>Starts a build from the rows as they are (or answers the one running, unless <paramref name="again"/> and it started before). Called holding the store's lock.</summary>
    private Task<IvfIndex> StartIndexing(ShardStore store, int kind, int lists, bool again)
    {
        var slot = _indexes[kind];
        if (slot.Building is { IsCompleted: false } running && !again)
        {
            return running;
        }

        var previous = slot.Building;
        float[] values = store.CopyValues();
        int rows = store.Count, dim = store.Dim, generation = store.Generation;
        long steps = store.TotalSteps;
        string table = _table;
        int shard = _index;
        slot.Building = Task.Run(async () =>
        {
            if (previous is not null)
            {
                // One build at a time per shard and kind: a forced one waits for the one running, then builds from its own copy.
                await previous.ContinueWith(static _ => { }, TaskScheduler.Default);
            }

            long start = Stopwatch.GetTimestamp();
            IvfIndex index;
            try
            {
                index = IvfIndex.Build(values, rows, dim, generation, steps, lists, angular: kind == 1);
            }
            catch (Exception e)
            {
                _logger.LogWarning("Index of shard {Shard} of table {Table} failed: {Error}", shard, table, e.Message);
                throw;
            }

            slot.Index = index;
            Volatile.Write(ref slot.Took, Stopwatch.GetTimestamp() - start);
            Volatile.Write(ref slot.Ended, Stopwatch.GetTimestamp());
            _logger.LogInformation("Indexed shard {Shard} of table {Table} by {Kind}: {Rows} rows in {Lists} lists in {Seconds:F2} s", shard, table, kind == 1 ? "direction" : "position", rows, index.Lists, Stopwatch.GetElapsedTime(start).TotalSeconds);
            return index;
        });
        return slot.Building;
    }
}
