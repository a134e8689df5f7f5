using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ParameterServer.Core.Kernels;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Search;

/// <summary>
/// Exact top-k over the rows of one <see cref="ShardStore"/> for a batch of query vectors. Rows are scanned in blocks
/// of <see cref="BlockRows"/> (a single query: a whole chunk of <see cref="ShardStore.ChunkRows"/>); every query of the
/// batch is scored against a block while it is in cache, so the arena is streamed from memory once per batch. Each query keeps a bounded heap; the exclude set is only consulted for
/// rows that would enter a heap, so it costs nothing for the rest.
/// </summary>
public static partial class ShardSearch
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
    /// vectors close to their random start) and, when <paramref name="slotCounts"/> is given (one value per row,
    /// slot by slot), rows whose count is below <paramref name="minCount"/>. Like the exclusion list, both are
    /// consulted only for a row that would enter a heap.
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
        long minSteps = 0,
        ReadOnlySpan<float> slotCounts = default,
        float minCount = 0)
    {
        var (q, stride) = Prepare(store, queries, k, metric, additive.Length, slotCounts.Length, ids, rawScores, slots, counts);
        if (stride == 0)
        {
            return;
        }

        int dim = store.Dim;

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
            if (metric != SimilarityMetric.Euclidean && q >= BatchedQueries)
            {
                ScanBatched(store, queries, metric, sortedExclude, additive, heaps, invQueryNorm, minSteps, slotCounts, minCount);
            }
            else
            {
                Scan(store, queries, metric, sortedExclude, additive, heaps, invQueryNorm, minSteps, slotCounts, minCount);
            }
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

    /// <summary>
    /// Checks a search's arguments and output spans (throws an <see cref="ArgumentException"/> that says what is
    /// wrong) and answers its number of queries and hits per query; with no hits to find the counts are cleared.
    /// </summary>
    private static (int Queries, int Stride) Prepare(ShardStore store, ReadOnlySpan<float> queries, int k, SimilarityMetric metric, int additiveLength, int slotCountsLength, Span<long> ids, Span<float> rawScores, Span<int> slots, Span<int> counts)
    {
        ArgumentNullException.ThrowIfNull(store);
        Validate(store.Dim, queries.Length, k, metric, additiveLength, store.Count);
        if (slotCountsLength != 0 && slotCountsLength < store.Count)
        {
            throw new ArgumentException($"{slotCountsLength} row counts for {store.Count} rows: one per row is needed.", "slotCounts");
        }

        int q = queries.Length / store.Dim;
        int stride = Stride(store, k);
        if (counts.Length < q || ids.Length < q * stride || rawScores.Length < q * stride || slots.Length < q * stride)
        {
            throw new ArgumentException($"Output spans are too short for {q} queries of up to {stride} hits.");
        }

        if (stride == 0)
        {
            counts[..q].Clear();
        }

        return (q, stride);
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

    /// <summary>Offers every row from slot <paramref name="from"/> on to every query's heap.</summary>
    private static void Scan(ShardStore store, ReadOnlySpan<float> queries, SimilarityMetric metric, ReadOnlySpan<long> exclude, ReadOnlySpan<float> additive, TopKHeap[] heaps, ReadOnlySpan<float> invQueryNorm, long minSteps, ReadOnlySpan<float> slotCounts, float minCount, int from = 0)
    {
        int dim = store.Dim;
        var rowIds = store.Ids;
        var norms = store.Norms;
        var steps = store.Steps;
        // One query reuses nothing from a block, so it takes a whole chunk at a time: a quarter of the per-block work.
        int blockRows = heaps.Length == 1 ? ShardStore.ChunkRows : BlockRows;
        Span<float> keys = stackalloc float[ShardStore.ChunkRows];
        Span<float> pairKeys = stackalloc float[ShardStore.ChunkRows];
        for (int start = from - (from % blockRows); start < rowIds.Length; start += blockRows)
        {
            int n = Math.Min(blockRows, rowIds.Length - start);
            int first = Math.Max(0, from - start); // rows of the first block before `from` are not offered
            var block = store.Rows(start, n);
            var blockKeys = keys[..n];
            for (int qi = 0; qi < heaps.Length; qi++)
            {
                var query = queries.Slice(qi * dim, dim);
                var heap = heaps[qi];

                // Keys of the whole block first (vectorized), so the per-row loop is a single compare for most rows.
                switch (metric)
                {
                    case SimilarityMetric.Euclidean:
                        SquaredDistanceRows.Compute(block, query, blockKeys);
                        TensorPrimitives.Negate(blockKeys, blockKeys);
                        break;
                    case SimilarityMetric.Cosine:
                        DotsOf(block, queries, qi, dim, blockKeys, pairKeys[..n]);
                        CosineKeys(blockKeys, norms.Slice(start, n), invQueryNorm[qi]);
                        break;
                    default:
                        DotsOf(block, queries, qi, dim, blockKeys, pairKeys[..n]);
                        if (!additive.IsEmpty)
                        {
                            TensorPrimitives.Add(blockKeys, additive.Slice(start, n), blockKeys);
                        }

                        break;
                }

                OfferBlock(heap, blockKeys, first, start, rowIds, exclude, steps, minSteps, slotCounts, minCount);
            }
        }
    }

    /// <summary>
    /// Offers the rows of a block whose keys reach the heap's threshold, in row order (rows before
    /// <paramref name="first"/> are not offered). Eight keys are compared at once and only the lanes that pass are
    /// looked at: once the heap is full, nearly every block has none, and the scan stays a stream of loads and
    /// multiply-adds instead of a compare and branch per row. NaN never passes the compare, so it is never kept.
    /// </summary>
    private static void OfferBlock(TopKHeap heap, ReadOnlySpan<float> keys, int first, int start, ReadOnlySpan<long> rowIds, ReadOnlySpan<long> exclude, ReadOnlySpan<int> steps, long minSteps, ReadOnlySpan<float> slotCounts, float minCount)
    {
        float threshold = heap.Threshold;
        int r = first;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float k = ref MemoryMarshal.GetReference(keys);
            for (; r <= keys.Length - Vector256<float>.Count; r += Vector256<float>.Count)
            {
                uint passing = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref k, (nuint)r), Vector256.Create(threshold)).ExtractMostSignificantBits();
                while (passing != 0)
                {
                    int row = r + BitOperations.TrailingZeroCount(passing);
                    passing &= passing - 1;

                    // The threshold rises as rows enter, so a lane that passed the block's compare is checked again.
                    if (keys[row] >= threshold)
                    {
                        threshold = Offer(heap, keys[row], start + row, rowIds, exclude, steps, minSteps, slotCounts, minCount);
                    }
                }
            }
        }

        for (; r < keys.Length; r++)
        {
            if (keys[r] >= threshold)
            {
                threshold = Offer(heap, keys[r], start + r, rowIds, exclude, steps, minSteps, slotCounts, minCount);
            }
        }
    }

    /// <summary>
    /// Offers the row in <paramref name="slot"/> with <paramref name="key"/> (which reached the heap's threshold) to
    /// <paramref name="heap"/> unless it loses to the heap's worst, is excluded, was updated fewer than
    /// <paramref name="minSteps"/> times or counts less than <paramref name="minCount"/>; returns the heap's new
    /// threshold. The one rule of both scans for which rows enter a heap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Offer(TopKHeap heap, float key, int slot, ReadOnlySpan<long> rowIds, ReadOnlySpan<long> exclude, ReadOnlySpan<int> steps, long minSteps, ReadOnlySpan<float> slotCounts, float minCount)
    {
        long id = rowIds[slot];
        if (heap.Accepts(key, id) && (exclude.IsEmpty || exclude.BinarySearch(id) < 0) && steps[slot] >= minSteps && (slotCounts.IsEmpty || slotCounts[slot] >= minCount))
        {
            heap.Offer(key, id, slot);
        }

        return heap.Threshold;
    }

    /// <summary>
    /// Dots of query <paramref name="qi"/> with the block. Queries go in pairs: for an even <paramref name="qi"/> with a
    /// partner, both are computed in one pass and the partner's dots wait in <paramref name="pair"/> for the next call.
    /// </summary>
    private static void DotsOf(ReadOnlySpan<float> block, ReadOnlySpan<float> queries, int qi, int dim, Span<float> keys, Span<float> pair)
    {
        int count = queries.Length / dim;
        if (qi % 2 == 1)
        {
            pair.CopyTo(keys);
        }
        else if (qi + 1 < count)
        {
            DotRows.Compute2(block, queries.Slice(qi * dim, dim), queries.Slice((qi + 1) * dim, dim), keys, pair);
        }
        else
        {
            DotRows.Compute(block, queries.Slice(qi * dim, dim), keys);
        }
    }

    /// <summary>Effectively computes <c>keys[r] = norms[r] &gt; 0 ? keys[r] · invQueryNorm / norms[r] : 0</c>.</summary>
    private static void CosineKeys(Span<float> keys, ReadOnlySpan<float> norms, float invQueryNorm)
    {
        int r = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var scale = Vector256.Create(invQueryNorm);
            ref float k = ref MemoryMarshal.GetReference(keys);
            ref float nr = ref MemoryMarshal.GetReference(norms);
            for (; r <= keys.Length - Vector256<float>.Count; r += Vector256<float>.Count)
            {
                var norm = Vector256.LoadUnsafe(ref nr, (nuint)r);
                var cos = Vector256.LoadUnsafe(ref k, (nuint)r) * scale / norm;
                Vector256.ConditionalSelect(Vector256.GreaterThan(norm, Vector256<float>.Zero), cos, Vector256<float>.Zero).StoreUnsafe(ref k, (nuint)r);
            }
        }

        for (; r < keys.Length; r++)
        {
            keys[r] = norms[r] > 0f ? keys[r] * invQueryNorm / norms[r] : 0f;
        }
    }
}
