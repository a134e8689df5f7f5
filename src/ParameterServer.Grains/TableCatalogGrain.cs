using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>Names of the tables that exist, kept as grain state.</summary>
[GenerateSerializer, Alias("ps.CatalogState")]
public sealed class CatalogState
{
    /// <summary>Table names.</summary>
    [Id(0)] public SortedSet<string> Tables { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The list of tables.</summary>
public sealed class TableCatalogGrain : Grain, ITableCatalogGrain
{
    private readonly IPersistentState<CatalogState> _state;

    private readonly CheckpointStoreHolder _checkpoints;

    /// <summary>Creates the grain.</summary>
    public TableCatalogGrain([PersistentState("catalog", ParameterServerSilo.MetadataStorage)] IPersistentState<CatalogState> state, CheckpointStoreHolder checkpoints)
    {
        _state = state;
        _checkpoints = checkpoints;
    }

    /// <inheritdoc/>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Tables with a record beside the checkpoints exist even when the metadata store forgot them (restarted
        // empty, or in memory): list them; each table grain restores its spec from the record when first asked.
        if (_checkpoints.Store is { } store)
        {
            int before = _state.State.Tables.Count;
            foreach (string table in await store.ListTableRecordsAsync(cancellationToken))
            {
                _state.State.Tables.Add(table);
            }

            if (_state.State.Tables.Count != before)
            {
                await _state.WriteStateAsync(cancellationToken);
            }
        }
    }

    /// <inheritdoc/>
    public async Task Add(string table)
    {
        if (_state.State.Tables.Add(table))
        {
            await _state.WriteStateAsync();
        }
    }

    /// <inheritdoc/>
    public async Task Remove(string table)
    {
        if (_state.State.Tables.Remove(table))
        {
            await _state.WriteStateAsync();
        }
    }

    /// <inheritdoc/>
    public Task<string[]> List() => Task.FromResult(_state.State.Tables.ToArray());
}
