using ParameterServer.Core.Kernels;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Search;

/// <summary>
/// Exact top-k over the rows of one <see cref="ShardStore"/> for a batch of query vectors. Rows are scanned in blocks
/// of <see cref="BlockRows"/>; every query of the batch is scored against a block while it is in cache, so the arena
/// is streamed from memory once per batch. Each query keeps a bounded heap; the exclude set is only consulted for
/// rows that would enter a heap, so it costs nothing for the rest.
/// </summary>
public static class ShardSearch
{
    /// <summary>The largest k a search accepts.</summary>
    public const int MaxK = 1000;

    /// <summary>Rows scored per block (64 rows of dim 64 are 16 KiB: they stay in L1 while every query passes).</summary>
    public const int BlockRows = 64;

    /// <summary>How many hits per query a search of <paramref name="store"/> can return at most: min(k, rows).</summary>
    public static int Stride(ShardStore store, int k)
    {
        ArgumentNullException.ThrowIfNull(store);
        return Math.Min(k, store.Count);
    }

    /// <summary>
    /// Scores every row against each query of <paramref name="queries"/> (<c>q x dim</c>, row-major) and writes the
    /// best <paramref name="k"/> of each query, best first, at <c>[q·stride, q·stride + counts[q])</c> of
    /// <paramref name="ids"/>, <paramref name="rawScores"/> and <paramref name="slots"/>, with stride =
    /// <see cref="Stride"/>. Raw scores are cosine, dot (+ <paramref name="additive"/>[slot] when given) or the
    /// <em>squared</em> euclidean distance. Ties rank by lower id. Rows in <paramref name="sortedExclude"/> (ascending)
    /// are skipped, and so are rows updated fewer than <paramref name="minSteps"/> times (rarely seen rows keep
    /// vectors close to their random start).
    /// </summary>
    public static void Run(
        ShardStore store,
        ReadOnlySpan<float> queries,
        int k,
        SimilarityMetric metric,
        ReadOnlySpan<long> sortedExclude,
        ReadOnlySpan<float> additive,
        Span<long> ids,
        Span<float> rawScores,
        Span<int> slots,
        Span<int> counts,
        long minSteps = 0)
    {
        ArgumentNullException.ThrowIfNull(store);
        int dim = store.Dim;
        Validate(dim, queries.Length, k, metric, additive.Length, store.Count);
        int q = queries.Length / dim;
        int stride = Stride(store, k);
        if (counts.Length < q || ids.Length < q * stride || rawScores.Length < q * stride || slots.Length < q * stride)
        {
            throw new ArgumentException($"Output spans are too short for {q} queries of up to {stride} hits.");
        }

        if (stride == 0)
        {
            counts[..q].Clear();
            return;
        }

        var heaps = new TopKHeap[q];
        Span<float> invQueryNorm = q <= 256 ? stackalloc float[q] : new float[q];
        for (int i = 0; i < q; i++)
        {
            heaps[i] = new TopKHeap(stride);
            // In double: a float sum of squares overflows or underflows for extreme (yet valid) query scales.
            double n = QueryNorm(queries.Slice(i * dim, dim));
            invQueryNorm[i] = n > 0 ? (float)(1.0 / n) : 0f;
        }

        try
        {
            Scan(store, queries, metric, sortedExclude, additive, heaps, invQueryNorm, minSteps);
            for (int i = 0; i < q; i++)
            {
                int at = i * stride;
                int n = heaps[i].Drain(ids.Slice(at, stride), rawScores.Slice(at, stride), slots.Slice(at, stride));
                counts[i] = n;
                for (int j = at; j < at + n; j++)
                {
                    rawScores[j] = SimilarityMetrics.RawScoreOf(metric, rawScores[j]);
                }
            }
        }
        finally
        {
            foreach (var heap in heaps)
            {
                heap.Dispose();
            }
        }
    }

    /// <summary>Checks the arguments of a search; throws an <see cref="ArgumentException"/> that says what is wrong.</summary>
    public static void Validate(int dim, int queryValues, int k, SimilarityMetric metric, int additiveLength, int rows)
    {
        SimilarityMetrics.Validate(metric);
        if (k is <= 0 or > MaxK)
        {
            throw new ArgumentException($"k must be between 1 and {MaxK}; got {k}.");
        }

        if (queryValues == 0 || queryValues % dim != 0)
        {
            throw new ArgumentException($"Query vectors hold {queryValues} values; the table has dim {dim}, so a query needs a whole, non-zero number of {dim}-value vectors.");
        }

        if (additiveLength != 0 && (metric != SimilarityMetric.Dot || additiveLength != rows))
        {
            throw new ArgumentException($"A per-row additive term needs the dot metric and one value per row ({rows}); got {additiveLength} values with {SimilarityMetrics.NameOf(metric)}.");
        }
    }

    private static double QueryNorm(ReadOnlySpan<float> query)
    {
        double sum = 0;
        foreach (float x in query)
        {
            sum += (double)x * x;
        }

        return Math.Sqrt(sum);
    }

    private static void Scan(ShardStore store, ReadOnlySpan<float> queries, SimilarityMetric metric, ReadOnlySpan<long> exclude, ReadOnlySpan<float> additive, TopKHeap[] heaps, ReadOnlySpan<float> invQueryNorm, long minSteps)
    {
        int dim = store.Dim;
        var values = store.Values;
        var rowIds = store.Ids;
        var norms = store.Norms;
        var steps = store.Steps;
        Span<float> raw = stackalloc float[BlockRows];
        for (int start = 0; start < rowIds.Length; start += BlockRows)
        {
            int n = Math.Min(BlockRows, rowIds.Length - start);
            var block = values.Slice(start * dim, n * dim);
            for (int qi = 0; qi < heaps.Length; qi++)
            {
                var query = queries.Slice(qi * dim, dim);
                var heap = heaps[qi];
                if (metric == SimilarityMetric.Euclidean)
                {
                    SquaredDistanceRows.Compute(block, query, raw);
                }
                else
                {
                    DotRows.Compute(block, query, raw);
                }

                for (int r = 0; r < n; r++)
                {
                    int slot = start + r;
                    float key = metric switch
                    {
                        SimilarityMetric.Cosine => norms[slot] > 0f ? raw[r] * invQueryNorm[qi] / norms[slot] : 0f,
                        SimilarityMetric.Dot => additive.IsEmpty ? raw[r] : raw[r] + additive[slot],
                        _ => -raw[r],
                    };
                    long id = rowIds[slot];
                    if (!heap.Accepts(key, id) || float.IsNaN(key) || (!exclude.IsEmpty && exclude.BinarySearch(id) >= 0) || steps[slot] < minSteps)
                    {
                        continue;
                    }

                    heap.Offer(key, id, slot);
                }
            }
        }
    }
}
