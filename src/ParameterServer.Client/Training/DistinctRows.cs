using ParameterServer.Core.Hashing;

namespace ParameterServer.Client.Training;

/// <summary>
/// The distinct rows one table contributes to a minibatch: their ids in order of first use, their pulled values and
/// their gradient sums. A worker loop sizes it once for its batch and reuses it every step; nothing is allocated per
/// row. Every sample that uses a row adds to the same gradient, so a push carries each row once.
/// </summary>
internal sealed class DistinctRows
{
    // The batch's ids by position, in an open-addressing table (linear probing, load at most one half) whose entries
    // hold the id and its position side by side: a probe is one load, not a slot then the id it points at. An entry
    // belongs to the current batch only when it carries the batch's stamp, so Clear is a counter, not a pass.
    private readonly Entry[] _table;
    private readonly int _shift;
    private int _stamp = 1;

    public DistinctRows(int capacity, int dim)
    {
        Dim = dim;
        int size = 16;
        while (size < 2L * capacity)
        {
            size <<= 1;
        }

        _table = new Entry[size];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)size);
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
        Count = 0;
        if (++_stamp == int.MaxValue)
        {
            // Two billion batches later the stamps would come round again: start them afresh.
            Array.Clear(_table);
            _stamp = 1;
        }
    }

    /// <summary>The position of row <paramref name="id"/>, added when it is new.</summary>
    public int Add(long id)
    {
        var table = _table;
        int mask = table.Length - 1;
        for (int p = (int)(Mix64.Mix((ulong)id) >> _shift); ; p = (p + 1) & mask)
        {
            ref Entry e = ref table[p];
            if (e.Stamp != _stamp)
            {
                if (Count == Ids.Length)
                {
                    throw new InvalidOperationException($"A batch holds at most {Ids.Length} distinct rows.");
                }

                e = new Entry(id, Count, _stamp);
                Ids[Count] = id;
                Counts[Count] = 1;
                return Count++;
            }

            if (e.Id == id)
            {
                Counts[e.At]++;
                return e.At;
            }
        }
    }

    /// <summary>The pulled values of the row at <paramref name="at"/>.</summary>
    public Span<float> Row(int at) => Values.AsSpan(at * Dim, Dim);

    /// <summary>The gradient sum of the row at <paramref name="at"/>.</summary>
    public Span<float> Gradient(int at) => Gradients.AsSpan(at * Dim, Dim);

    /// <summary>
    /// The SGD rule for rows used many times in a batch: each row's gradient sum is scaled by <c>min(1, k / n)</c>,
    /// n its uses in the batch and <c>k = max(1, floor(<see cref="SgdUseBudget"/> / lr))</c>, so one push moves a row
    /// by at most k uses' worth (and <paramref name="scalars"/>, one value per row such as a bias gradient, likewise).
    /// </summary>
    public void CapGradients(Span<float> scalars, float learningRate)
    {
        float k = MaxUses(learningRate);
        for (int r = 0; r < Count; r++)
        {
            int n = Counts[r];
            if (n > k)
            {
                float scale = k / n;
                System.Numerics.Tensors.TensorPrimitives.Multiply(Gradient(r), scale, Gradient(r));
                if (!scalars.IsEmpty)
                {
                    scalars[r] *= scale;
                }
            }
        }
    }

    /// <summary>
    /// lr × uses that one SGD push may apply to a row at once. Summed over n uses, a step of lr·n·‖u‖² above 2 diverges
    /// (rows of norm up to about 2 make that n·lr ≤ 0.5); 0.25 keeps a margin and matched the one-sample-at-a-time
    /// reference within 0.002 RMSE at lr 0.01 to 0.05 on the Zipf data of <c>embed bench train</c>.
    /// </summary>
    public const float SgdUseBudget = 0.25f;

    /// <summary>The most uses of a row one SGD push applies at <paramref name="learningRate"/>: <c>max(1, floor(0.25 / lr))</c>.</summary>
    public static float MaxUses(float learningRate) => Math.Max(1f, MathF.Floor(SgdUseBudget / learningRate));

    /// <summary>Zeroes the gradient sums of the current rows.</summary>
    public void ClearGradients() => Gradients.AsSpan(0, Count * Dim).Clear();

    /// <summary>Pulls the current rows from <paramref name="table"/> into <see cref="Values"/>.</summary>
    public Task PullAsync(TableClient table) => table.PullAsync(Ids.AsMemory(0, Count), Values);

    /// <summary>Pushes the gradient sums of the current rows to <paramref name="table"/>.</summary>
    public Task PushAsync(TableClient table) => table.PushAsync(Ids.AsMemory(0, Count), Gradients.AsMemory(0, Count * Dim));

    private readonly record struct Entry(long Id, int At, int Stamp);
}
