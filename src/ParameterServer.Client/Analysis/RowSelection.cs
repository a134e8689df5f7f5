using ParameterServer.Abstractions;

namespace ParameterServer.Client.Analysis;

/// <summary>Which rows of a table a picture shows.</summary>
public enum RowOrder
{
    /// <summary>The lowest ids, ascending.</summary>
    Id = 0,

    /// <summary>The most updated rows (most optimizer steps), ties to the lower id.</summary>
    Updates = 1,
}

/// <summary>
/// Keeps the best <c>count</c> rows of a scan by <see cref="RowOrder"/>, with their values, labels and steps, in a
/// bounded heap: memory stays <c>count × dim</c> whatever the table's size.
/// </summary>
public sealed class RowSelection
{
    private readonly int _count;
    private readonly int _dim;
    private readonly RowOrder _order;
    private readonly PriorityQueue<int, (long Primary, long Id)> _worstFirst;
    private readonly long[] _ids;
    private readonly long[] _steps;
    private readonly string?[] _labels;
    private readonly float[] _values;

    /// <summary>A selection of at most <paramref name="count"/> rows of <paramref name="dim"/> values.</summary>
    public RowSelection(int count, int dim, RowOrder order)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        _count = count;
        _dim = dim;
        _order = order;
        // A smaller key is a better row; the heap's root is the worst kept row.
        _worstFirst = new PriorityQueue<int, (long, long)>(count, Comparer<(long, long)>.Create((a, b) => b.CompareTo(a)));
        _ids = new long[count];
        _steps = new long[count];
        _labels = new string?[count];
        _values = new float[count * dim];
    }

    /// <summary>Offers every row of <paramref name="page"/>.</summary>
    public void Offer(RowPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        var values = page.Values.Values;
        for (int r = 0; r < page.Ids.Length; r++)
        {
            Offer(page.Ids[r], page.Steps[r], page.Labels[r], values.Slice(r * _dim, _dim));
        }
    }

    /// <summary>Offers one row.</summary>
    public void Offer(long id, long steps, string? label, ReadOnlySpan<float> values)
    {
        if (_count == 0)
        {
            return;
        }

        var key = Key(id, steps);
        int slot;
        if (_worstFirst.Count < _count)
        {
            slot = _worstFirst.Count;
        }
        else if (_worstFirst.TryPeek(out int worst, out var worstKey) && key.CompareTo(worstKey) < 0)
        {
            _worstFirst.Dequeue();
            slot = worst;
        }
        else
        {
            return;
        }

        _ids[slot] = id;
        _steps[slot] = steps;
        _labels[slot] = label;
        values.CopyTo(_values.AsSpan(slot * _dim, _dim));
        _worstFirst.Enqueue(slot, key);
    }

    private (long, long) Key(long id, long steps) => _order == RowOrder.Id ? (id, 0) : (-steps, id);

    /// <summary>The kept rows, best first (ascending id, or most steps first).</summary>
    public SelectedRows Result()
    {
        int n = _worstFirst.Count;
        int[] slots = [.. Enumerable.Range(0, n).OrderBy(s => Key(_ids[s], _steps[s]))];
        var values = new float[n * _dim];
        for (int r = 0; r < n; r++)
        {
            _values.AsSpan(slots[r] * _dim, _dim).CopyTo(values.AsSpan(r * _dim, _dim));
        }

        return new SelectedRows([.. slots.Select(s => _ids[s])], [.. slots.Select(s => _labels[s])], [.. slots.Select(s => _steps[s])], values, _dim);
    }

    /// <summary>The best <paramref name="count"/> rows of <paramref name="table"/> by <paramref name="order"/>, in one scan.</summary>
    public static async Task<SelectedRows> SelectAsync(TableClient table, int count, RowOrder order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        var selection = new RowSelection(count, table.Dim, order);
        await foreach (var page in table.ScanAsync(cancellationToken: cancellationToken))
        {
            selection.Offer(page);
        }

        return selection.Result();
    }
}

/// <summary>Rows picked from a table.</summary>
/// <param name="Ids">Row ids, best first.</param>
/// <param name="Labels">Their labels (null where none).</param>
/// <param name="Steps">Their optimizer steps.</param>
/// <param name="Values">Their values, <c>Ids.Length × Dim</c>, row-major.</param>
/// <param name="Dim">Values per row.</param>
public sealed record SelectedRows(long[] Ids, string?[] Labels, long[] Steps, float[] Values, int Dim)
{
    /// <summary>Row <paramref name="r"/>'s values.</summary>
    public ReadOnlySpan<float> Row(int r) => Values.AsSpan(r * Dim, Dim);

    /// <summary>Row <paramref name="r"/>'s label, or <c>id N</c> when it has none.</summary>
    public string Name(int r) => Labels[r] ?? $"id {Ids[r]}";
}
