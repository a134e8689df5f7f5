using System.Buffers;
using System.Numerics.Tensors;
using ParameterServer.Abstractions;

namespace ParameterServer.Client.Training;

/// <summary>
/// A worker-side cache of one table's hot rows (a fixed set of ids chosen before training, e.g. the most frequent),
/// shared by the worker loops of a process under one lock. A pull serves the hot rows refreshed within
/// <see cref="Staleness"/> steps from the cache and pulls the others (cold, or hot but stale) in one call per shard;
/// pulled hot rows refresh the cache. A push sends the gradients of cold rows and adds those of hot rows to the
/// cache's sums; every <see cref="Staleness"/> steps one push also writes the sums back (and the cache forgets its
/// values, so hot rows are pulled again), and <see cref="FlushAsync"/> writes back what is left: the server applies
/// every gradient exactly once. Steps are counted by the cache: every pull is one step.
/// </summary>
internal sealed class HotRowCache : IRowClient
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, int> _slots;
    private readonly long[] _ids;
    private readonly float[] _values;
    private readonly float[] _pending;
    private readonly bool[] _dirty;
    private readonly long[] _refreshed;
    private long _clock;
    private long _flushedAt;
    private long _hits;
    private long _needed;
    private long _absorbed;
    private long _written;

    /// <summary>Caches the rows <paramref name="hot"/> of <paramref name="table"/>, served at most <paramref name="staleness"/> steps old.</summary>
    public HotRowCache(TableClient table, IReadOnlyCollection<long> hot, int staleness)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(staleness);
        Table = table;
        Staleness = staleness;
        _ids = [.. hot.Distinct()];
        _slots = new Dictionary<long, int>(_ids.Length);
        for (int s = 0; s < _ids.Length; s++)
        {
            _slots[_ids[s]] = s;
        }

        _values = new float[_ids.Length * table.Dim];
        _pending = new float[_ids.Length * table.Dim];
        _dirty = new bool[_ids.Length];
        _refreshed = new long[_ids.Length];
        _refreshed.AsSpan().Fill(-1);
    }

    /// <summary>The cached table.</summary>
    public TableClient Table { get; }

    /// <inheritdoc/>
    public TableSpec Spec => Table.Spec;

    /// <summary>Steps a cached row may be older than the step that reads it.</summary>
    public int Staleness { get; }

    /// <summary>Hot rows.</summary>
    public int Count => _ids.Length;

    /// <summary>Rows served from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Rows asked for by pulls (hits and misses).</summary>
    public long Needed => Interlocked.Read(ref _needed);

    /// <summary>Row gradients added to the cache's sums instead of being pushed.</summary>
    public long Absorbed => Interlocked.Read(ref _absorbed);

    /// <summary>Summed row gradients written back.</summary>
    public long WrittenBack => Interlocked.Read(ref _written);

    /// <summary>Steps so far (pulls).</summary>
    public long Steps => Interlocked.Read(ref _clock);

    /// <summary>Whether <paramref name="id"/> is a hot row.</summary>
    public bool IsHot(long id) => _slots.ContainsKey(id);

    /// <summary>
    /// The step a pull makes: copies the fresh hot rows of <paramref name="ids"/> into <paramref name="destination"/>
    /// and pulls the others from the table (one call per shard); returns how many came from the cache.
    /// </summary>
    public async Task<int> PullAsync(ReadOnlyMemory<long> ids, Memory<float> destination)
    {
        int dim = Table.Dim;
        long step = Interlocked.Increment(ref _clock);
        int n = ids.Length;
        long[] missIds = ArrayPool<long>.Shared.Rent(Math.Max(1, n));
        int[] missAt = ArrayPool<int>.Shared.Rent(Math.Max(1, n));
        float[] pulled = ArrayPool<float>.Shared.Rent(Math.Max(1, n * dim));
        try
        {
            int misses = 0;
            lock (_gate)
            {
                var span = ids.Span;
                var dest = destination.Span;
                for (int k = 0; k < n; k++)
                {
                    if (_slots.TryGetValue(span[k], out int s) && _refreshed[s] >= 0 && step - _refreshed[s] <= Staleness)
                    {
                        _values.AsSpan(s * dim, dim).CopyTo(dest.Slice(k * dim, dim));
                    }
                    else
                    {
                        missIds[misses] = span[k];
                        missAt[misses++] = k;
                    }
                }
            }

            int hits = n - misses;
            Interlocked.Add(ref _hits, hits);
            Interlocked.Add(ref _needed, n);
            await Table.PullAsync(missIds.AsMemory(0, misses), pulled.AsMemory(0, misses * dim));
            lock (_gate)
            {
                var dest = destination.Span;
                for (int m = 0; m < misses; m++)
                {
                    var row = pulled.AsSpan(m * dim, dim);
                    row.CopyTo(dest.Slice(missAt[m] * dim, dim));
                    // A pull started before the last write-back may not have seen it: it does not refresh the cache.
                    if (_slots.TryGetValue(missIds[m], out int s) && step > _flushedAt && step > _refreshed[s])
                    {
                        row.CopyTo(_values.AsSpan(s * dim, dim));
                        _refreshed[s] = step;
                    }
                }
            }

            return hits;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(missIds);
            ArrayPool<int>.Shared.Return(missAt);
            ArrayPool<float>.Shared.Return(pulled);
        }
    }

    /// <inheritdoc/>
    Task IRowClient.PullAsync(ReadOnlyMemory<long> ids, Memory<float> destination) => PullAsync(ids, destination);

    /// <summary>
    /// Pushes the gradients of the cold rows of <paramref name="ids"/> and adds those of the hot rows to the cache's
    /// sums; when <see cref="Staleness"/> steps have passed since the last write-back, the same push carries the sums.
    /// </summary>
    public Task PushAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients)
    {
        int dim = Table.Dim;
        int n = ids.Length;
        var span = ids.Span;
        var grads = gradients.Span;
        int cold = 0;
        for (int k = 0; k < n; k++)
        {
            if (!_slots.ContainsKey(span[k]))
            {
                cold++;
            }
        }

        lock (_gate)
        {
            bool writeBack = _clock - _flushedAt >= Math.Max(1, Staleness);
            int rows = cold + (writeBack ? CountDirty() + (n - cold) : 0);
            long[] outIds = new long[rows];
            float[] outGrads = new float[rows * dim];
            int o = 0;
            for (int k = 0; k < n; k++)
            {
                var g = grads.Slice(k * dim, dim);
                if (_slots.TryGetValue(span[k], out int s))
                {
                    TensorPrimitives.Add(_pending.AsSpan(s * dim, dim), g, _pending.AsSpan(s * dim, dim));
                    _dirty[s] = true;
                }
                else
                {
                    outIds[o] = span[k];
                    g.CopyTo(outGrads.AsSpan(o++ * dim, dim));
                }
            }

            Interlocked.Add(ref _absorbed, n - cold);
            if (writeBack)
            {
                o = TakePending(outIds, outGrads, o);
            }

            return Table.PushAsync(outIds.AsMemory(0, o), outGrads.AsMemory(0, o * dim));
        }
    }

    /// <summary>Writes back every gradient sum and forgets the cached values (before validation, a snapshot or the end).</summary>
    public Task FlushAsync()
    {
        lock (_gate)
        {
            int rows = CountDirty();
            long[] outIds = new long[rows];
            float[] outGrads = new float[rows * Table.Dim];
            int o = TakePending(outIds, outGrads, 0);
            return Table.PushAsync(outIds.AsMemory(0, o), outGrads.AsMemory(0, o * Table.Dim));
        }
    }

    private int CountDirty()
    {
        int dirty = 0;
        foreach (bool d in _dirty)
        {
            dirty += d ? 1 : 0;
        }

        return dirty;
    }

    /// <summary>Moves the gradient sums to <paramref name="ids"/>/<paramref name="grads"/> from <paramref name="o"/> on and invalidates the cache; under the lock.</summary>
    private int TakePending(long[] ids, float[] grads, int o)
    {
        int dim = Table.Dim;
        for (int s = 0; s < _ids.Length; s++)
        {
            if (_dirty[s])
            {
                ids[o] = _ids[s];
                _pending.AsSpan(s * dim, dim).CopyTo(grads.AsSpan(o++ * dim, dim));
                _pending.AsSpan(s * dim, dim).Clear();
                _dirty[s] = false;
                Interlocked.Increment(ref _written);
            }
        }

        _refreshed.AsSpan().Fill(-1);
        _flushedAt = _clock;
        return o;
    }

    /// <summary>The <paramref name="count"/> most frequent of <paramref name="ids"/> (ties by smaller id).</summary>
    public static long[] MostFrequent(ReadOnlySpan<long> ids, int count)
    {
        var counts = new Dictionary<long, int>();
        foreach (long id in ids)
        {
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }

        return [.. counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Take(count).Select(kv => kv.Key)];
    }
}
