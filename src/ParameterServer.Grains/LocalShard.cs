using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using ParameterServer.Abstractions;
using ParameterServer.Core.Storage;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Grains;

/// <summary>
/// The store of one active shard grain, shared with the silo's step router (<see cref="StepRouterGrain"/>) so that a
/// step's part for this shard is served in process, without a grain call. Every access to the store, from the grain's
/// turns or from the router, holds the lock of the <see cref="ShardStore"/> object; once <see cref="Close"/> ran (the grain deactivates or drops its
/// rows) the router's Try methods answer false and the router calls the grain instead, so no update can land after
/// the grain's final checkpoint.
/// </summary>
internal sealed class LocalShard
{
    private readonly KeyValuePair<string, object?> _tableTag;
    private bool _closed;

    public LocalShard(string table, int index, ShardStore store)
    {
        Table = table;
        Index = index;
        Store = store;
        _tableTag = Table(table);
        _where = $"table '{table}' shard {index}";
    }

    public string Table { get; }

    public int Index { get; }

    /// <summary>The rows; also the lock. Touch only while holding it (<c>lock (store)</c>).</summary>
    public ShardStore Store { get; }

    /// <summary>Rows returned by pulls since the shard activated.</summary>
    public long RowsPulled;

    /// <summary>Rows received in pushes, applied or refused.</summary>
    public long RowsPushed;

    /// <summary>Optimizer steps applied, one per row per accepted push.</summary>
    public long StepsApplied;

    // Named in refusals; built once, not per push.
    private readonly string _where;

    /// <summary>Stops serving the router; called under no lock, takes it.</summary>
    public void Close()
    {
        lock (Store)
        {
            _closed = true;
        }
    }

    /// <summary>
    /// The rows of <paramref name="ids"/> (created when missing), with their slots when <paramref name="withSlots"/>,
    /// or false when the shard was closed. The block travels as <paramref name="wire"/> when it is sent.
    /// </summary>
    public bool TryPull(long[] ids, bool withSlots, out RowBlock block, out SlotHints? slots, WireValues wire = WireValues.Float32)
    {
        lock (Store)
        {
            if (_closed)
            {
                (block, slots) = (null!, null);
                return false;
            }

            (block, slots) = PullLocked(ids, withSlots, wire);
            return true;
        }
    }

    /// <summary>
    /// Applies <paramref name="request"/> (with the slot hints of its pull, if any), or false when the shard was
    /// closed; a refused push throws.
    /// </summary>
    public bool TryPush(PushRequest request, SlotHints? hints = null)
    {
        lock (Store)
        {
            if (_closed)
            {
                return false;
            }

            PushLocked(request, hints);
            return true;
        }
    }

    /// <summary>Copies the rows of <paramref name="ids"/> into rows <c>positions[i]</c> of <paramref name="destination"/> (see <see cref="ILocalShardAccess.TryPull"/>).</summary>
    public bool TryPullInto(ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, Span<float> destination, Span<int> slots, out int generation)
    {
        lock (Store)
        {
            if (_closed)
            {
                generation = -1;
                return false;
            }

            long start = Stopwatch.GetTimestamp();
            Store.Pull(ids, positions, destination, slots);
            generation = Store.Generation;
            RowsPulled += ids.Length;
            RowsPerCall.Record(ids.Length, _tableTag, PullTag);
            ShardDuration.Record(SecondsSince(start), _tableTag, PullTag);
            return true;
        }
    }

    /// <summary>Applies the gradients at rows <c>positions[i]</c> of <paramref name="gradients"/> (see <see cref="ILocalShardAccess.TryPush"/>).</summary>
    public bool TryPushFrom(ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slots, int generation)
    {
        lock (Store)
        {
            if (_closed)
            {
                return false;
            }

            long start = Stopwatch.GetTimestamp();
            RowsPushed += ids.Length;
            RowsPerCall.Record(ids.Length, _tableTag, PushTag);
            try
            {
                Store.Push(ids, positions, gradients, slots, generation, _where, checkedWhole: true);
            }
            catch (ArgumentException e)
            {
                CountRefusal(e.Data[ShardStore.RefusalReasonKey] as string ?? "invalid");
                throw;
            }

            StepsApplied += ids.Length;
            ShardDuration.Record(SecondsSince(start), _tableTag, PushTag);
            return true;
        }
    }

    private void CountRefusal(string reason) => PushesRefused.Add(1, _tableTag, new KeyValuePair<string, object?>(ReasonTag, reason));

    private (RowBlock Rows, SlotHints? Slots) PullLocked(long[] ids, bool withSlots, WireValues wire)
    {
        long start = Stopwatch.GetTimestamp();
        // Pooled for this one answer (its array goes back once the codec wrote it); Pull writes every byte of values
        // and slots, so zeroing first would only cost time.
        var block = RowBlock.RentAnswer(ids.Length, Store.Dim, wire);
        var values = block.Writable;
        SlotHints? hints = null;
        if (withSlots)
        {
            var slots = GC.AllocateUninitializedArray<byte>(ids.Length * sizeof(int));
            Store.Pull(ids, values, MemoryMarshal.Cast<byte, int>(slots.AsSpan()));
            hints = new SlotHints(Store.Generation, slots);
        }
        else
        {
            Store.Pull(ids, values);
        }

        RowsPulled += ids.Length;
        RowsPerCall.Record(ids.Length, _tableTag, PullTag);
        ShardDuration.Record(SecondsSince(start), _tableTag, PullTag);
        return (block, hints);
    }

    private void PushLocked(PushRequest request, SlotHints? hints)
    {
        long start = Stopwatch.GetTimestamp();
        RowsPushed += request.Ids.Length;
        RowsPerCall.Record(request.Ids.Length, _tableTag, PushTag);
        if (request.Gradients.Dim != Store.Dim || request.Gradients.Rows != request.Ids.Length)
        {
            CountRefusal("dim");
            throw new ArgumentException($"Push to table '{Table}' shard {Index} refused: {request.Gradients.Rows} gradient rows of dim {request.Gradients.Dim} for {request.Ids.Length} ids; the table has dim {Store.Dim}. No row was changed.");
        }

        if (request.Gradients.Length % sizeof(float) != 0)
        {
            CountRefusal("length");
            throw new ArgumentException($"Push to table '{Table}' shard {Index} refused: {request.Gradients.Length} bytes is not a whole number of floats. No row was changed.");
        }

        try
        {
            Store.Push(request.Ids, request.Gradients.Values, hints is null ? [] : hints.Values, hints?.Generation ?? -1, _where);
        }
        catch (ArgumentException e)
        {
            CountRefusal(e.Data[ShardStore.RefusalReasonKey] as string ?? "invalid");
            throw;
        }

        StepsApplied += request.Ids.Length;
        ShardDuration.Record(SecondsSince(start), _tableTag, PushTag);
    }

    private static readonly KeyValuePair<string, object?> PullTag = Operation("pull");
    private static readonly KeyValuePair<string, object?> PushTag = Operation("push");
}

/// <summary>
/// The shards active in this silo, by table and index (a singleton of the silo's services); also what the silo offers
/// a client in its own process (<see cref="ILocalShardAccess"/>).
/// </summary>
public sealed class LocalShards : ILocalShardAccess
{
    private readonly ConcurrentDictionary<(string Table, int Index), LocalShard> _shards = new();

    /// <summary>Shards registered now.</summary>
    public int Count => _shards.Count;

    /// <summary>The table and index of each shard registered now.</summary>
    public IReadOnlyList<(string Table, int Index)> Keys => [.. _shards.Keys];

    // Completed while no shard is registered; a silo that hands its shards over awaits it (WhenEmpty).
    private TaskCompletionSource _empty = Empty();
    private readonly Lock _gate = new();

    /// <summary>Completes when no shard is registered here (at once when none is).</summary>
    public Task WhenEmpty()
    {
        lock (_gate)
        {
            return _empty.Task;
        }
    }

    internal void Add(LocalShard shard)
    {
        lock (_gate)
        {
            _shards[(shard.Table, shard.Index)] = shard;
            if (_empty.Task.IsCompleted)
            {
                _empty = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    internal void Remove(LocalShard shard)
    {
        lock (_gate)
        {
            if (_shards.TryRemove(new KeyValuePair<(string, int), LocalShard>((shard.Table, shard.Index), shard)) && _shards.IsEmpty)
            {
                _empty.TrySetResult();
            }
        }
    }

    private static TaskCompletionSource Empty()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    internal bool TryGet(string table, int index, out LocalShard shard) => _shards.TryGetValue((table, index), out shard!);

    /// <inheritdoc/>
    public bool TryPull(string table, int shard, ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, Span<float> destination, Span<int> slots, out int generation)
    {
        generation = -1;
        return TryGet(table, shard, out var local) && local.TryPullInto(ids, positions, destination, slots, out generation);
    }

    /// <inheritdoc/>
    public bool TryPush(string table, int shard, ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slots, int generation) =>
        TryGet(table, shard, out var local) && local.TryPushFrom(ids, positions, gradients, slots, generation);
}
