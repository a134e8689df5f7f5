using System.Runtime.InteropServices;

namespace ParameterServer.Client.Training;

/// <summary>
/// The distinct rows one table contributes to a minibatch: their ids in order of first use, their pulled values and
/// their gradient sums. A worker loop sizes it once for its batch and reuses it every step; nothing is allocated per
/// row. Every sample that uses a row adds to the same gradient, so a push carries each row once.
/// </summary>
internal sealed class DistinctRows
{
    private readonly Dictionary<long, int> _index;

    public DistinctRows(int capacity, int dim)
    {
        Dim = dim;
        _index = new Dictionary<long, int>(capacity);
        Ids = new long[capacity];
        Counts = new int[capacity];
        Values = new float[capacity * dim];
        Gradients = new float[capacity * dim];
    }

    public int Dim { get; }

    /// <summary>Distinct rows since the last <see cref="Clear"/>.</summary>
    public int Count { get; private set; }

    public long[] Ids { get; }

    /// <summary>How many times each row was added since the last <see cref="Clear"/> (its uses in the batch).</summary>
    public int[] Counts { get; }

    /// <summary>Pulled values, row-major in the order of <see cref="Ids"/>.</summary>
    public float[] Values { get; }

    /// <summary>Gradient sums, row-major in the order of <see cref="Ids"/>.</summary>
    public float[] Gradients { get; }

    /// <summary>Forgets the rows of the previous batch.</summary>
    public void Clear()
    {
        _index.Clear();
        Count = 0;
    }

    /// <summary>The position of row <paramref name="id"/>, added when it is new.</summary>
    public int Add(long id)
    {
        ref int at = ref CollectionsMarshal.GetValueRefOrAddDefault(_index, id, out bool exists);
        if (!exists)
        {
            at = Count;
            Counts[Count] = 0;
            Ids[Count++] = id;
        }

        Counts[at]++;
        return at;
    }

    /// <summary>The pulled values of the row at <paramref name="at"/>.</summary>
    public Span<float> Row(int at) => Values.AsSpan(at * Dim, Dim);

    /// <summary>The gradient sum of the row at <paramref name="at"/>.</summary>
    public Span<float> Gradient(int at) => Gradients.AsSpan(at * Dim, Dim);

    /// <summary>
    /// Turns each row's gradient sum into the mean over its uses in the batch (and <paramref name="scalars"/>, one
    /// value per row such as a bias gradient, likewise).
    /// </summary>
    public void AverageGradients(Span<float> scalars)
    {
        for (int r = 0; r < Count; r++)
        {
            int n = Counts[r];
            if (n > 1)
            {
                float inv = 1f / n;
                System.Numerics.Tensors.TensorPrimitives.Multiply(Gradient(r), inv, Gradient(r));
                if (!scalars.IsEmpty)
                {
                    scalars[r] *= inv;
                }
            }
        }
    }

    /// <summary>Zeroes the gradient sums of the current rows.</summary>
    public void ClearGradients() => Gradients.AsSpan(0, Count * Dim).Clear();

    /// <summary>Pulls the current rows from <paramref name="table"/> into <see cref="Values"/>.</summary>
    public Task PullAsync(TableClient table) => table.PullAsync(Ids.AsMemory(0, Count), Values);

    /// <summary>Pushes the gradient sums of the current rows to <paramref name="table"/>.</summary>
    public Task PushAsync(TableClient table) => table.PushAsync(Ids.AsMemory(0, Count), Gradients.AsMemory(0, Count * Dim));
}
