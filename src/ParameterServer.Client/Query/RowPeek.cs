using ParameterServer.Abstractions;

namespace ParameterServer.Client.Query;

/// <summary>Reads rows without creating any: what every read-only command (predict, fold-in) uses instead of a pull.</summary>
public static class RowPeek
{
    /// <summary>
    /// The values of the rows of <paramref name="ids"/> in <paramref name="table"/> (row-major, <paramref name="dim"/>
    /// each) and whether each exists; a missing row reads as its initial values and is not created. Pages of
    /// <see cref="RowLimits.RowsPerPage"/> rows, one query-grain call each.
    /// </summary>
    public static async Task<(float[] Values, bool[] Found)> PeekAsync(ParameterServerClient ps, string table, ReadOnlyMemory<long> ids, int dim)
    {
        ArgumentNullException.ThrowIfNull(ps);
        var values = new float[ids.Length * dim];
        var found = new bool[ids.Length];
        int page = RowLimits.RowsPerPage(dim);
        var grain = ps.QueryGrain;
        for (int start = 0; start < ids.Length; start += page)
        {
            int n = Math.Min(page, ids.Length - start);
            var result = await grain.Peek(table, ids.Slice(start, n).ToArray());
            result.Rows.Values.CopyTo(values.AsSpan(start * dim, n * dim));
            result.Found.CopyTo(found, start);
        }

        return (values, found);
    }
}
