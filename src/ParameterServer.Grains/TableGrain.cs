using Microsoft.Extensions.Logging;
using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>Persistent metadata of a table.</summary>
[GenerateSerializer, Alias("ps.TableState")]
public sealed class TableState
{
    /// <summary>The spec, or null when the table does not exist.</summary>
    [Id(0)] public TableSpec? Spec { get; set; }

    /// <summary>Small string properties.</summary>
    [Id(1)] public Dictionary<string, string> Metadata { get; set; } = [];

    /// <summary>
    /// Every shard has written a checkpoint (an empty one when it starts without any): from then on, a shard that
    /// finds none lost its files, and refuses to start empty.
    /// </summary>
    [Id(2)] public bool ShardsCheckpointed { get; set; }
}

/// <summary>
/// The metadata of one table, kept as grain state in the metadata store and, when checkpoints are on, as a record
/// beside the shards' checkpoints (<see cref="TableRecord"/>), from which it comes back when the metadata store lost
/// it; fans out to the table's shards.
/// </summary>
public sealed partial class TableGrain : Grain, ITableGrain
{
    private readonly IPersistentState<TableState> _state;

    private readonly CheckpointStoreHolder _checkpoints;

    private readonly ILogger<TableGrain> _logger;

    /// <summary>Creates the grain.</summary>
    public TableGrain([PersistentState("table", ParameterServerSilo.MetadataStorage)] IPersistentState<TableState> state, CheckpointStoreHolder checkpoints, ILogger<TableGrain> logger)
    {
        _state = state;
        _checkpoints = checkpoints;
        _logger = logger;
    }

    /// <inheritdoc/>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (_state.State.Spec is not null || _checkpoints.Store is not { } store)
        {
            return;
        }

        // The metadata store does not know the table (it restarted empty, or keeps metadata in memory): its record
        // beside the checkpoints brings it back, and the catalog lists it again.
        byte[]? record;
        try
        {
            record = await store.ReadTableRecordAsync(Name, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogRecordUnreadable(Name, e.Message);
            return;
        }

        if (record is null)
        {
            return;
        }

        try
        {
            var (spec, metadata, shardsCheckpointed) = TableRecord.Read(record, Name);
            _state.State.Spec = spec;
            _state.State.Metadata = metadata;
            _state.State.ShardsCheckpointed = shardsCheckpointed;
        }
        catch (InvalidDataException e)
        {
            LogRecordUnreadable(Name, e.Message);
            return;
        }

        await _state.WriteStateAsync(cancellationToken);
        await GrainFactory.GetGrain<ITableCatalogGrain>(0).Add(Name);
        LogRestored(Name, _state.State.Spec.Dim, _state.State.Spec.Shards);
    }

    /// <summary>Writes the table's record beside its checkpoints, before the metadata store, so a failure changes nothing.</summary>
    private async Task WriteRecord(TableSpec spec, Dictionary<string, string> metadata, bool? shardsCheckpointed = null)
    {
        if (_checkpoints.Store is not { } store)
        {
            return;
        }

        try
        {
            await store.WriteTableRecordAsync(Name, TableRecord.Write(spec, metadata, shardsCheckpointed ?? _state.State.ShardsCheckpointed));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Table '{Name}' unchanged: its record could not be written beside the checkpoints ({e.Message}).");
        }
    }

    /// <summary>
    /// Once every shard opened (each wrote a checkpoint, an empty one if it had none), says so in the record: a shard
    /// that later finds no checkpoint lost its files. Not before: shards that open at the same time find none yet.
    /// </summary>
    private async Task MarkShardsCheckpointed(TableSpec spec)
    {
        if (_checkpoints.Store is null || _state.State.ShardsCheckpointed)
        {
            return;
        }

        var described = await Task.WhenAll(Shards(spec).Select(s => s.Describe()));
        if (described.Any(d => d.CheckpointError is not null))
        {
            return; // a shard could not write its first checkpoint: it is reported as failing, not marked
        }

        await WriteRecord(spec, _state.State.Metadata, shardsCheckpointed: true);
        _state.State.ShardsCheckpointed = true;
        await _state.WriteStateAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Table {Table} restored from its record beside the checkpoints: dim {Dim}, {Shards} shards")]
    private partial void LogRestored(string table, int dim, int shards);

    [LoggerMessage(Level = LogLevel.Error, Message = "Table {Table} has a record beside the checkpoints that cannot be read: {Reason}; the table stays unknown")]
    private partial void LogRecordUnreadable(string table, string reason);

    private string Name => this.GetPrimaryKeyString();

    /// <inheritdoc/>
    public async Task<TableSpec> Create(TableSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Name != Name)
        {
            throw new ArgumentException($"Spec names table '{spec.Name}' but was sent to table '{Name}'.");
        }

        spec.Validate();
        if (_state.State.Spec is { } existing)
        {
            string? diff = existing.DifferenceFrom(spec);
            if (diff is not null)
            {
                throw new ArgumentException($"Table '{Name}' already exists and {diff}; drop it first (embed tables drop {Name}) or use another name.");
            }

            await Task.WhenAll(Shards(existing).Select(s => s.Open()));
            await MarkShardsCheckpointed(existing);
            return existing;
        }

        await WriteRecord(spec, []);
        _state.State.Spec = spec;
        _state.State.Metadata = [];
        await _state.WriteStateAsync();
        await GrainFactory.GetGrain<ITableCatalogGrain>(0).Add(Name);
        // Shards start with the table: a worker's first step then finds them active (and local, in process).
        await Task.WhenAll(Shards(spec).Select(s => s.Open()));
        await MarkShardsCheckpointed(spec);
        return spec;
    }

    /// <inheritdoc/>
    public Task<TableSpec?> Get() => Task.FromResult(_state.State.Spec);

    /// <inheritdoc/>
    public async Task<TableInfo> Describe()
    {
        var spec = RequireSpec();
        var shards = await Task.WhenAll(Shards(spec).Select(s => s.Describe()));
        return new TableInfo(spec, shards.Sum(s => s.Rows), shards.Sum(s => s.Bytes), shards.Sum(s => s.OptimizerSteps), shards, new Dictionary<string, string>(_state.State.Metadata));
    }

    /// <inheritdoc/>
    public async Task<bool> Drop()
    {
        if (_state.State.Spec is not { } spec)
        {
            return false;
        }

        await Task.WhenAll(Shards(spec).Select(s => s.Reset()));
        if (_checkpoints.Store is { } store)
        {
            await store.DeleteTableAsync(Name);
        }

        await _state.ClearStateAsync();
        _state.State = new TableState();
        await GrainFactory.GetGrain<ITableCatalogGrain>(0).Remove(Name);
        return true;
    }

    /// <inheritdoc/>
    public async Task SetMetadata(string key, string value)
    {
        var spec = RequireSpec();
        await WriteRecord(spec, new Dictionary<string, string>(_state.State.Metadata) { [key] = value });
        _state.State.Metadata[key] = value;
        await _state.WriteStateAsync();
    }

    /// <inheritdoc/>
    public Task<Dictionary<string, string>> GetMetadata() => Task.FromResult(new Dictionary<string, string>(_state.State.Metadata));

    /// <inheritdoc/>
    public Task Snapshot() => Task.WhenAll(Shards(RequireSpec()).Select(s => s.Snapshot()));

    /// <inheritdoc/>
    public Task<CheckpointResult[]> Checkpoint() => Task.WhenAll(Shards(RequireSpec()).Select(s => s.Checkpoint()));

    /// <inheritdoc/>
    public async Task<int[]> RestoreSnapshot()
    {
        var restored = await Task.WhenAll(Shards(RequireSpec()).Select(s => s.RestoreSnapshot()));
        return [.. Enumerable.Range(0, restored.Length).Where(i => !restored[i])];
    }

    private TableSpec RequireSpec() => _state.State.Spec ?? throw new KeyNotFoundException($"Unknown table '{Name}'.");

    private IEnumerable<IShardGrain> Shards(TableSpec spec) => Enumerable.Range(0, spec.Shards).Select(i => GrainFactory.GetGrain<IShardGrain>(ShardKey.Of(Name, i)));
}
