using System.Numerics.Tensors;
using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Search;

/// <summary>
/// An inverted-file index over a snapshot of one shard's rows, for approximate top-k: a coarse quantizer of
/// <see cref="Lists"/> centroids trained by k-means (Lloyd's iterations on a seeded sample of the rows), and every row
/// filed under its nearest centroid (squared euclidean distance; of the rows' directions, scaled to unit length, in
/// an <see cref="Angular"/> index, which cosine searches use: rows of very different lengths that point the same way
/// then share a list), each list's vectors copied together, as they are, so that a probe streams them. A search (<see cref="ShardSearch.RunIndexed"/>) scores the centroids, scans the rows of the best
/// <c>probes</c> lists and of the rows added since the snapshot, and scores its winners again against the live rows.
/// Immutable once built, so searches read it without a lock; the shard builds a new one when its rows have changed
/// enough (<see cref="IsStale"/>).
/// </summary>
public sealed class IvfIndex
{
    /// <summary>Lloyd iterations of the coarse quantizer's training.</summary>
    public const int TrainingIterations = 10;

    /// <summary>Training sample per list: k-means sees at most this many rows per centroid.</summary>
    public const int SamplePerList = 64;

    private readonly float[] _centroids;
    private readonly float[] _centroidNorms;
    private readonly int[] _offsets;
    private readonly int[] _slots;
    private readonly float[] _vectors;
    private readonly float[] _norms;

    private IvfIndex(int dim, int rows, int generation, long steps, bool angular, float[] centroids, int[] offsets, int[] slots, float[] vectors)
    {
        Dim = dim;
        Angular = angular;
        Rows = rows;
        Generation = generation;
        Steps = steps;
        _centroids = centroids;
        _offsets = offsets;
        _slots = slots;
        _vectors = vectors;
        int lists = offsets.Length - 1;
        _centroidNorms = new float[lists];
        for (int c = 0; c < lists; c++)
        {
            _centroidNorms[c] = TensorPrimitives.Norm(centroids.AsSpan(c * dim, dim));
        }

        _norms = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            _norms[r] = TensorPrimitives.Norm(vectors.AsSpan(r * dim, dim));
        }
    }

    /// <summary>Values per row.</summary>
    public int Dim { get; }

    /// <summary>Whether rows were filed by direction (for cosine searches) rather than by position (dot, euclidean).</summary>
    public bool Angular { get; }

    /// <summary>Rows indexed: the store's slots <c>0..Rows-1</c> when the snapshot was taken.</summary>
    public int Rows { get; }

    /// <summary>Number of lists (centroids).</summary>
    public int Lists => _offsets.Length - 1;

    /// <summary>The store generation of the snapshot: slots of another generation name other rows.</summary>
    public int Generation { get; }

    /// <summary>The store's total optimizer steps when the snapshot was taken.</summary>
    public long Steps { get; }

    /// <summary>Bytes the index holds (centroids, the rows' copies, slots and norms).</summary>
    public long Bytes => ((long)_centroids.Length + _centroidNorms.Length + _vectors.LongLength + _norms.Length) * sizeof(float) + ((long)_offsets.Length + _slots.Length) * sizeof(int);

    /// <summary>The default number of lists for <paramref name="rows"/> rows: about √rows (so a list holds about √rows rows), at least 1.</summary>
    public static int DefaultLists(int rows) => Math.Clamp((int)Math.Round(Math.Sqrt(rows)), 1, 65_536);

    /// <summary>
    /// Whether an index of <see cref="Rows"/> rows, built at <see cref="Generation"/> and <see cref="Steps"/>, no
    /// longer serves a store of <paramref name="rows"/> rows at <paramref name="generation"/> and
    /// <paramref name="steps"/> well: another generation (its slots name other rows), a quarter more rows than it
    /// indexed (they are scanned one by one), or as many optimizer steps since the snapshot as twice the rows it holds
    /// (the rows have moved away from where they were filed).
    /// </summary>
    public bool IsStale(int rows, int generation, long steps) =>
        generation != Generation || rows - Rows > Math.Max(1024, Rows / 4) || steps - Steps > 2L * Math.Max(Rows, 1024);

    /// <summary>The centroids, <c>Lists x Dim</c> row-major.</summary>
    public ReadOnlySpan<float> Centroids => _centroids;

    /// <summary>The L2 norm of each centroid.</summary>
    public ReadOnlySpan<float> CentroidNorms => _centroidNorms;

    /// <summary>Rows filed under list <paramref name="list"/>.</summary>
    public int ListLength(int list) => _offsets[list + 1] - _offsets[list];

    /// <summary>The copies of list <paramref name="list"/>'s rows, row-major, as the snapshot held them.</summary>
    public ReadOnlySpan<float> ListVectors(int list) => _vectors.AsSpan(_offsets[list] * Dim, ListLength(list) * Dim);

    /// <summary>The store slots of list <paramref name="list"/>'s rows.</summary>
    public ReadOnlySpan<int> ListSlots(int list) => _slots.AsSpan(_offsets[list], ListLength(list));

    /// <summary>The L2 norms of list <paramref name="list"/>'s row copies.</summary>
    public ReadOnlySpan<float> ListNorms(int list) => _norms.AsSpan(_offsets[list], ListLength(list));

    /// <summary>
    /// Builds an index of the first <paramref name="rows"/> rows of <paramref name="values"/> (<c>rows x dim</c>,
    /// slot by slot, a snapshot the index keeps as its own), with <paramref name="lists"/> lists (0:
    /// <see cref="DefaultLists"/>). The training sample and the first centroids are drawn with <paramref name="seed"/>,
    /// so the same rows give the same index. A list left empty by an iteration takes a random row of the largest list.
    /// With <paramref name="angular"/> the lists are formed from the rows scaled to unit length (a zero row stays zero).
    /// </summary>
    public static IvfIndex Build(float[] values, int rows, int dim, int generation, long steps, int lists = 0, int seed = 1, bool angular = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        if ((long)rows * dim > values.LongLength)
        {
            throw new ArgumentException($"{values.LongLength} values hold fewer than {rows} rows of dim {dim}.", nameof(values));
        }

        lists = Math.Min(lists <= 0 ? DefaultLists(rows) : lists, Math.Max(rows, 1));
        var rng = new Random(seed);
        float[] points = angular ? UnitRows(values, rows, dim) : values;
        var centroids = Train(points, rows, dim, lists, rng, ct);

        // File every row under its nearest centroid, then copy the rows list by list.
        var assignment = new int[rows];
        var counts = new int[lists];
        var centroidSquares = SquaredNorms(centroids, lists, dim);
        var scratch = new float[lists];
        for (int r = 0; r < rows; r++)
        {
            if ((r & 0xFFF) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            int c = Nearest(points.AsSpan(r * dim, dim), centroids, centroidSquares, scratch);
            assignment[r] = c;
            counts[c]++;
        }

        var offsets = new int[lists + 1];
        for (int c = 0; c < lists; c++)
        {
            offsets[c + 1] = offsets[c] + counts[c];
        }

        var slots = new int[rows];
        var vectors = new float[(long)rows * dim];
        var next = offsets[..lists];
        for (int r = 0; r < rows; r++)
        {
            int at = next[assignment[r]]++;
            slots[at] = r;
            values.AsSpan(r * dim, dim).CopyTo(vectors.AsSpan(at * dim, dim));
        }

        return new IvfIndex(dim, rows, generation, steps, angular, centroids, offsets, slots, vectors);
    }

    /// <summary>A copy of the first <paramref name="rows"/> rows scaled to unit length (zero rows stay zero).</summary>
    private static float[] UnitRows(float[] values, int rows, int dim)
    {
        var unit = new float[(long)rows * dim];
        for (int r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * dim, dim);
            float norm = TensorPrimitives.Norm(row);
            if (norm > 0f)
            {
                TensorPrimitives.Divide(row, norm, unit.AsSpan(r * dim, dim));
            }
        }

        return unit;
    }

    /// <summary>k-means (Lloyd) on a seeded sample of at most <see cref="SamplePerList"/> rows per list.</summary>
    private static float[] Train(float[] values, int rows, int dim, int lists, Random rng, CancellationToken ct)
    {
        var centroids = new float[lists * dim];
        if (rows == 0)
        {
            return centroids;
        }

        // A seeded sample: the first picks of a partial Fisher–Yates shuffle of the slots.
        int sampleSize = (int)Math.Min(rows, (long)lists * SamplePerList);
        var order = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            order[r] = r;
        }

        for (int i = 0; i < sampleSize; i++)
        {
            int j = rng.Next(i, rows);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var sample = order.AsSpan(0, sampleSize);
        for (int c = 0; c < lists; c++)
        {
            values.AsSpan(sample[c] * dim, dim).CopyTo(centroids.AsSpan(c * dim, dim));
        }

        var sums = new double[lists * dim];
        var counts = new int[lists];
        var members = new int[sampleSize];
        var scratch = new float[lists];
        for (int iteration = 0; iteration < TrainingIterations; iteration++)
        {
            ct.ThrowIfCancellationRequested();
            var squares = SquaredNorms(centroids, lists, dim);
            Array.Clear(sums);
            Array.Clear(counts);
            for (int i = 0; i < sampleSize; i++)
            {
                var row = values.AsSpan(sample[i] * dim, dim);
                int c = Nearest(row, centroids, squares, scratch);
                members[i] = c;
                counts[c]++;
                var sum = sums.AsSpan(c * dim, dim);
                for (int j = 0; j < dim; j++)
                {
                    sum[j] += row[j];
                }
            }

            int largest = 0;
            for (int c = 1; c < lists; c++)
            {
                largest = counts[c] > counts[largest] ? c : largest;
            }

            for (int c = 0; c < lists; c++)
            {
                var centroid = centroids.AsSpan(c * dim, dim);
                if (counts[c] > 0)
                {
                    var sum = sums.AsSpan(c * dim, dim);
                    for (int j = 0; j < dim; j++)
                    {
                        centroid[j] = (float)(sum[j] / counts[c]);
                    }

                    continue;
                }

                // An empty list takes a random member of the largest, which then splits between the two.
                int pick = rng.Next(counts[largest]);
                for (int i = 0; i < sampleSize; i++)
                {
                    if (members[i] == largest && pick-- == 0)
                    {
                        values.AsSpan(sample[i] * dim, dim).CopyTo(centroid);
                        break;
                    }
                }
            }
        }

        return centroids;
    }

    private static float[] SquaredNorms(float[] centroids, int lists, int dim)
    {
        var squares = new float[lists];
        for (int c = 0; c < lists; c++)
        {
            var centroid = centroids.AsSpan(c * dim, dim);
            squares[c] = TensorPrimitives.Dot(centroid, centroid);
        }

        return squares;
    }

    /// <summary>The centroid nearest to <paramref name="row"/>: least |c|² − 2·row·c (its squared distance less |row|²), ties to the lower index.</summary>
    private static int Nearest(ReadOnlySpan<float> row, float[] centroids, float[] squares, float[] scratch)
    {
        DotRows.Compute(centroids, row, scratch);
        int best = 0;
        float bestKey = float.PositiveInfinity;
        for (int c = 0; c < scratch.Length; c++)
        {
            float key = squares[c] - (2f * scratch[c]);
            if (key < bestKey)
            {
                bestKey = key;
                best = c;
            }
        }

        return best;
    }
}
