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

    /// <summary>Creates the grain.</summary>
    public TableCatalogGrain([PersistentState("catalog", ParameterServerSilo.MetadataStorage)] IPersistentState<CatalogState> state) => _state = state;

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
