using System.Runtime.InteropServices;
using ParameterServer.Abstractions;
using ParameterServer.Core.Storage;

namespace ParameterServer.Grains;

/// <summary>Whole-row access (<see cref="IShardRows"/>): pages of rows for export, and writes of given values for import and fold-in.</summary>
public sealed partial class ShardGrain
{
    /// <inheritdoc/>
    public async Task<RowPage> Scan(ScanRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Offset < 0 || request.MaxRows < 1)
        {
            throw new ArgumentException($"Scan of table '{_table}' shard {_index} refused: offset {request.Offset} and max rows {request.MaxRows} must be ≥ 0 and ≥ 1.");
        }

        var store = await Store();
        lock (store)
        {
            return ScanLocked(store, request);
        }
    }

    private RowPage ScanLocked(ShardStore store, ScanRequest request)
    {
        int n = Math.Max(0, Math.Min(Math.Min(request.MaxRows, RowLimits.RowsPerPage(store.Dim)), store.Count - request.Offset));
        var ids = new long[n];
        var data = new byte[n * store.Dim * sizeof(float)];
        var labels = new string?[n];
        var steps = new long[n];
        store.Scan(request.Offset, ids, MemoryMarshal.Cast<byte, float>(data.AsSpan()), labels, steps);
        int next = request.Offset + n < store.Count ? request.Offset + n : -1;
        return new RowPage(ids, new RowBlock(n, store.Dim, data), labels, steps, next);
    }

    /// <inheritdoc/>
    public async Task Write(WriteRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var store = await Store();
        string where = $"table '{_table}' shard {_index}";
        if (request.Values.Dim != store.Dim || request.Values.Rows != request.Ids.Length || request.Values.Length % sizeof(float) != 0)
        {
            throw new ArgumentException($"Write to {where} refused: {request.Values.Rows} rows of dim {request.Values.Dim} ({request.Values.Length} bytes) for {request.Ids.Length} ids; the table has dim {store.Dim}. No row was changed.");
        }

        if (request.Values.Length > RowLimits.MaxPageBytes)
        {
            throw new ArgumentException($"Write to {where} refused: {request.Values.Length} bytes is above the limit of {RowLimits.MaxPageBytes} per call; split it. No row was changed.");
        }

        lock (store)
        {
            store.Write(request.Ids, request.Values.Values, where);
        }

        _dirty = true;
    }
}
