using Microsoft.Extensions.Logging;
using Orleans.Placement;
using ParameterServer.Abstractions;
using ParameterServer.Core.Storage;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

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
    // The store as the silo's step router sees it; every access to _store holds the store's own lock (see LocalShard).
    private LocalShard? _local;
    private ShardStore.Snapshot? _snapshot;
    private KeyValuePair<string, object?> _tableTag;

    private readonly CheckpointStoreHolder _checkpoints;
    private readonly CheckpointOptions _checkpointOptions;
    private readonly LocalShards _localShards;
    private readonly CheckpointHealth _health;
    private readonly ILocalSiloDetails _silo;
    private readonly StepSocketServer _stepSocket;

    // Why the last checkpoint failed, until one succeeds (describe shows it; the training report warns of it).
    private string? _checkpointError;

    /// <summary>Creates the grain.</summary>
    public ShardGrain(ILogger<ShardGrain> logger, CheckpointStoreHolder checkpoints, CheckpointOptions checkpointOptions, LocalShards localShards, CheckpointHealth health, ILocalSiloDetails silo, StepSocketServer stepSocket)
    {
        _logger = logger;
        _checkpoints = checkpoints;
        _checkpointOptions = checkpointOptions;
        _localShards = localShards;
        _health = health;
        _silo = silo;
        _stepSocket = stepSocket;
    }

    /// <inheritdoc/>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_table, _index) = ShardKey.Parse(this.GetPrimaryKeyString());
        _tableTag = Table(_table);
        // A shard that arrived by migration starts its store now, so the step router here serves it from the next step.
        return _arrived is null ? Task.CompletedTask : Store().AsTask();
    }

    /// <inheritdoc/>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        ShardResidency.Remove(this);
        CloseLocal();
        _checkpointTimer?.Dispose();
        try
        {
            await CheckpointOnDeactivation(reason);
        }
        catch (InvalidOperationException)
        {
            // Logged (one line) and counted where the write failed; Orleans would add a stack trace.
        }
        finally
        {
            _health.Cleared(_table, _index); // this silo no longer holds the shard; its next activation reports anew
        }
    }

    /// <summary>
    /// The table, rows and bytes resident here, and rows pulled, rows pushed and optimizer steps applied since the
    /// shard activated (read by the observable instruments from another thread: plain reads of longs suffice).
    /// </summary>
    internal ShardFigures Figures => _local is { } l
        ? new(_table, l.Store.Count, l.Store.Bytes, Volatile.Read(ref l.RowsPulled), Volatile.Read(ref l.RowsPushed), Volatile.Read(ref l.StepsApplied))
        : new(_table, 0, 0, 0, 0, 0);

    /// <inheritdoc/>
    public async Task<RowBlock> Pull(PullRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        await Store();
        // Not closed: the grain closes its local shard only when it deactivates or drops the store, and Store() made a new one.
        return _local!.TryPull(request.Ids, withSlots: false, out var block, out _) ? block : throw Closed();
    }

    /// <inheritdoc/>
    public async Task Push(PushRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        await Store();
        if (!_local!.TryPush(request))
        {
            throw Closed();
        }
    }

    private InvalidOperationException Closed() => new($"Table '{_table}' shard {_index} is deactivating; try again.");

    /// <summary>Stops the step router from using this shard's store (before a final checkpoint or a drop).</summary>
    private void CloseLocal()
    {
        if (_local is { } local)
        {
            _localShards.Remove(local);
            local.Close();
            _local = null;
        }
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
        lock (store)
        {
            for (int i = 0; i < labels.Ids.Length; i++)
            {
                store.SetLabel(labels.Ids[i], labels.Labels[i]);
            }
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
        _local = new LocalShard(_table, _index, store);
        _localShards.Add(_local);
        ShardResidency.Add(this);
        PushesRefused.Add(0, _tableTag); // so dashboards show "none refused" rather than "no data"
        LogActivated(_table, _index, spec.Dim);
        return _store;
    }

    private static readonly KeyValuePair<string, object?> SearchTag = Operation("search");
    private static readonly KeyValuePair<string, object?> PeekTag = Operation("peek");

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Table}/{Index} activated with dim {Dim}")]
    private partial void LogActivated(string table, int index, int dim);
}
