using Microsoft.Extensions.Logging;
using ParameterServer.Abstractions;
using ParameterServer.Core.Storage;

namespace ParameterServer.Grains;

/// <summary>
/// One virtual shard of a table. Owns a <see cref="ShardStore"/>: rows are created lazily on first pull, pushes
/// apply the table's optimizer row by row with SIMD. Grain turns are single-threaded, so the store needs no lock.
/// Kept alive (never idle-collected) because its rows live only in memory.
/// </summary>
[KeepAlive]
public sealed partial class ShardGrain : Grain, IShardGrain
{
    private readonly ILogger<ShardGrain> _logger;
    private string _table = "";
    private int _index;
    private ShardStore? _store;
    private ShardStore.Snapshot? _snapshot;

    /// <summary>Creates the grain.</summary>
    public ShardGrain(ILogger<ShardGrain> logger) => _logger = logger;

    /// <inheritdoc/>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_table, _index) = ShardKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task<RowBlock> Pull(PullRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var store = await Store();
        var ids = request.Ids;
        var data = new byte[ids.Length * store.Dim * sizeof(float)];
        store.Pull(ids, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data.AsSpan()));
        return new RowBlock(ids.Length, store.Dim, data);
    }

    /// <inheritdoc/>
    public async Task Push(PushRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var store = await Store();
        if (request.Gradients.Dim != store.Dim || request.Gradients.Rows != request.Ids.Length)
        {
            throw new ArgumentException($"Push to table '{_table}' shard {_index} refused: {request.Gradients.Rows} gradient rows of dim {request.Gradients.Dim} for {request.Ids.Length} ids; the table has dim {store.Dim}. No row was changed.");
        }

        if (request.Gradients.Data.Length % sizeof(float) != 0)
        {
            throw new ArgumentException($"Push to table '{_table}' shard {_index} refused: {request.Gradients.Data.Length} bytes is not a whole number of floats. No row was changed.");
        }

        store.Push(request.Ids, request.Gradients.Values, $"table '{_table}' shard {_index}");
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

        _store = new ShardStore(spec.Dim, spec.RowInitializer, spec.OptimizerSettings);
        LogActivated(_table, _index, spec.Dim);
        return _store;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Table}/{Index} activated with dim {Dim}")]
    private partial void LogActivated(string table, int index, int dim);
}
