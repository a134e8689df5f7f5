using Microsoft.Extensions.Logging;
using Orleans.Placement;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;
using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Abstractions.Telemetry;
using ParameterServer.Core.Storage;

namespace ParameterServer.Grains;

/// <summary>
/// One virtual shard of a table. Owns a <see cref="ShardStore"/>: rows are created lazily on first pull, pushes
/// apply the table's optimizer row by row with SIMD. Grain turns are single-threaded, so the store needs no lock.
/// Kept alive (never idle-collected) because its rows live only in memory. Placed by a hash of its key, so a
/// table's shards spread evenly over the silos whatever their load was when the table was created.
/// </summary>
[KeepAlive]
[HashBasedPlacement]
public sealed partial class ShardGrain : Grain, IShardGrain
{
    private readonly ILogger<ShardGrain> _logger;
    private string _table = "";
    private int _index;
    private ShardStore? _store;
    private ShardStore.Snapshot? _snapshot;
    private KeyValuePair<string, object?> _tableTag;
    private long _rowsPulled;
    private long _rowsPushed;
    private long _stepsApplied;

    private readonly CheckpointStoreHolder _checkpoints;
    private readonly CheckpointOptions _checkpointOptions;

    /// <summary>Creates the grain.</summary>
    public ShardGrain(ILogger<ShardGrain> logger, CheckpointStoreHolder checkpoints, CheckpointOptions checkpointOptions)
    {
        _logger = logger;
        _checkpoints = checkpoints;
        _checkpointOptions = checkpointOptions;
    }

    /// <inheritdoc/>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_table, _index) = ShardKey.Parse(this.GetPrimaryKeyString());
        _tableTag = Table(_table);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        ShardResidency.Remove(this);
        _checkpointTimer?.Dispose();
        await CheckpointOnDeactivation(reason);
    }

    /// <summary>
    /// The table, rows and bytes resident here, and rows pulled, rows pushed and optimizer steps applied since the
    /// shard activated (read by the observable instruments from another thread: plain reads of longs suffice).
    /// </summary>
    internal ShardFigures Figures => new(_table, _store?.Count ?? 0, _store?.Bytes ?? 0, Volatile.Read(ref _rowsPulled), Volatile.Read(ref _rowsPushed), Volatile.Read(ref _stepsApplied));

    /// <inheritdoc/>
    public async Task<RowBlock> Pull(PullRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var store = await Store();
        long start = Stopwatch.GetTimestamp();
        var ids = request.Ids;
        // Uninitialized: Pull writes every byte, so zeroing the block first would only cost time.
        var data = GC.AllocateUninitializedArray<byte>(ids.Length * store.Dim * sizeof(float));
        store.Pull(ids, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data.AsSpan()));
        _rowsPulled += ids.Length;
        RowsPerCall.Record(ids.Length, _tableTag, PullTag);
        ShardDuration.Record(SecondsSince(start), _tableTag, PullTag);
        return new RowBlock(ids.Length, store.Dim, data);
    }

    /// <inheritdoc/>
    public async Task Push(PushRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var store = await Store();
        long start = Stopwatch.GetTimestamp();
        _rowsPushed += request.Ids.Length;
        RowsPerCall.Record(request.Ids.Length, _tableTag, PushTag);
        if (request.Gradients.Dim != store.Dim || request.Gradients.Rows != request.Ids.Length)
        {
            PushesRefused.Add(1, _tableTag, new KeyValuePair<string, object?>(ReasonTag, "dim"));
            throw new ArgumentException($"Push to table '{_table}' shard {_index} refused: {request.Gradients.Rows} gradient rows of dim {request.Gradients.Dim} for {request.Ids.Length} ids; the table has dim {store.Dim}. No row was changed.");
        }

        if (request.Gradients.Data.Length % sizeof(float) != 0)
        {
            PushesRefused.Add(1, _tableTag, new KeyValuePair<string, object?>(ReasonTag, "length"));
            throw new ArgumentException($"Push to table '{_table}' shard {_index} refused: {request.Gradients.Data.Length} bytes is not a whole number of floats. No row was changed.");
        }

        try
        {
            store.Push(request.Ids, request.Gradients.Values, $"table '{_table}' shard {_index}");
        }
        catch (ArgumentException e)
        {
            PushesRefused.Add(1, _tableTag, new KeyValuePair<string, object?>(ReasonTag, e.Data[ShardStore.RefusalReasonKey] as string ?? "invalid"));
            throw;
        }

        _stepsApplied += request.Ids.Length;
        ShardDuration.Record(SecondsSince(start), _tableTag, PushTag);
    }

    /// <inheritdoc/>
    public async Task SetLabels(LabelBatch labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Ids.Length != labels.Labels.Length)
        {
            throw new ArgumentException($"Labels for table '{_table}' shard {_index} refused: {labels.Ids.Length} ids but {labels.Labels.Length} labels.");
        }

        var store = await Store();
        for (int i = 0; i < labels.Ids.Length; i++)
        {
            store.SetLabel(labels.Ids[i], labels.Labels[i]);
        }

        _dirty = true;
    }

    private async ValueTask<ShardStore> Store()
    {
        if (_store is not null)
        {
            return _store;
        }

        var spec = await GrainFactory.GetGrain<ITableGrain>(_table).Get()
            ?? throw new KeyNotFoundException($"Unknown table '{_table}': create it first (embed tables list shows what exists).");
        if (_index >= spec.Shards)
        {
            throw new ArgumentException($"Table '{_table}' has {spec.Shards} shards; shard {_index} does not exist.");
        }

        var store = new ShardStore(spec.Dim, spec.RowInitializer, spec.OptimizerSettings);
        _dropped = false;
        await LoadCheckpointAsync(store, spec);
        _store = store;
        ShardResidency.Add(this);
        PushesRefused.Add(0, _tableTag); // so dashboards show "none refused" rather than "no data"
        LogActivated(_table, _index, spec.Dim);
        return _store;
    }

    private static readonly KeyValuePair<string, object?> PullTag = Operation("pull");
    private static readonly KeyValuePair<string, object?> PushTag = Operation("push");
    private static readonly KeyValuePair<string, object?> SearchTag = Operation("search");
    private static readonly KeyValuePair<string, object?> PeekTag = Operation("peek");

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Table}/{Index} activated with dim {Dim}")]
    private partial void LogActivated(string table, int index, int dim);
}
