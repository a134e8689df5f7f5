using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Abstractions;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;

namespace ParameterServer.Grains;

/// <summary>
/// The shard's index for approximate search (<see cref="IvfIndex"/>): built from a copy of the rows on a pool thread,
/// so pushes and exact searches go on meanwhile, and built again when the rows have changed enough
/// (<see cref="IvfIndex.IsStale"/>). It lives with the activation: a shard that moves or restarts builds it again
/// on the first approximate search.
/// </summary>
public sealed partial class ShardGrain
{
    // Written by the build on a pool thread, read in the grain's turns.
    private volatile IvfIndex? _ivf;
    // The build in progress (or the last one); only the grain's turns read and write it.
    private Task<IvfIndex>? _indexing;
    // When the last build ended and how long it took (Stopwatch ticks): a stale index is rebuilt no sooner than ten
    // builds' time after the last, so searches during training spend at most about a tenth of a core on rebuilds.
    private long _indexEnded, _indexTook;

    /// <inheritdoc/>
    public async Task<IndexInfo> BuildIndex(int lists)
    {
        if (lists is < 0 or > QueryLimits.MaxProbes)
        {
            throw new ArgumentException($"Index of table '{_table}' refused: lists must be 0 (about √rows) to {QueryLimits.MaxProbes}; got {lists}.");
        }

        var store = await Store();
        long start = Stopwatch.GetTimestamp();
        Task<IvfIndex> building;
        lock (store)
        {
            building = StartIndexing(store, lists, again: true);
        }

        var index = await building;
        return new IndexInfo(index.Rows, index.Lists, index.Bytes, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>
    /// The index a search with probes uses now, or null while the shard's first is being built (the search is then
    /// exact); starts a build when there is none or it is stale. Called holding the store's lock.
    /// </summary>
    private IvfIndex? IndexFor(ShardStore store)
    {
        var index = _ivf;
        bool usable = index is not null && index.Generation == store.Generation && index.Rows <= store.Count;
        bool rested = Stopwatch.GetTimestamp() - Volatile.Read(ref _indexEnded) >= 10 * Volatile.Read(ref _indexTook);
        if (!usable || (rested && index!.IsStale(store.Count, store.Generation, store.TotalSteps)))
        {
            StartIndexing(store, lists: 0, again: false);
        }

        return usable ? index : null;
    }

    /// <summary>Starts a build from the rows as they are (or answers the one running, unless <paramref name="again"/> and it started before). Called holding the store's lock.</summary>
    private Task<IvfIndex> StartIndexing(ShardStore store, int lists, bool again)
    {
        if (_indexing is { IsCompleted: false } running && !again)
        {
            return running;
        }

        var previous = _indexing;
        float[] values = store.CopyValues();
        int rows = store.Count, dim = store.Dim, generation = store.Generation;
        long steps = store.TotalSteps;
        string table = _table;
        int shard = _index;
        _indexing = Task.Run(async () =>
        {
            if (previous is not null)
            {
                // One build at a time per shard: a forced one waits for the one running, then builds from its own copy.
                await previous.ContinueWith(static _ => { }, TaskScheduler.Default);
            }

            long start = Stopwatch.GetTimestamp();
            IvfIndex index;
            try
            {
                index = IvfIndex.Build(values, rows, dim, generation, steps, lists);
            }
            catch (Exception e)
            {
                _logger.LogWarning("Index of shard {Shard} of table {Table} failed: {Error}", shard, table, e.Message);
                throw;
            }

            _ivf = index;
            Volatile.Write(ref _indexTook, Stopwatch.GetTimestamp() - start);
            Volatile.Write(ref _indexEnded, Stopwatch.GetTimestamp());
            _logger.LogInformation("Indexed shard {Shard} of table {Table}: {Rows} rows in {Lists} lists in {Seconds:F2} s", shard, table, rows, index.Lists, Stopwatch.GetElapsedTime(start).TotalSeconds);
            return index;
        });
        return _indexing;
    }
}
