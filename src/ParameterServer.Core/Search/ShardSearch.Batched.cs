using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ParameterServer.Core.Kernels;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Search;

/// <summary>The scan of a batch of queries as a blocked matrix product (dot and cosine).</summary>
public static partial class ShardSearch
{
    /// <summary>
    /// From this many queries on, dot and cosine searches score a block of rows against groups of
    /// <see cref="DotTile.Queries"/> queries with <see cref="DotTile"/> (a register-tiled matrix product, the queries
    /// packed once), instead of one or two queries at a time: the arithmetic then runs near the FMA units' peak.
    /// </summary>
    public const int BatchedQueries = 16;

    /// <summary>
    /// Same result as <see cref="Scan"/> for the dot and cosine metrics: each block's scores come out row by row for
    /// 64 queries, are turned into keys (cosine: <c>dot · invQueryNorm / norm</c>, 0 for a zero row; dot: plus the
    /// additive term) with the same operations in the same order, and 8 queries at a time are compared with their
    /// heaps' thresholds, so only a row that would enter a heap is looked at further, as in <see cref="Scan"/>.
    /// </summary>
    private static void ScanBatched(ShardStore store, ReadOnlySpan<float> queries, SimilarityMetric metric, ReadOnlySpan<long> exclude, ReadOnlySpan<float> additive, TopKHeap[] heaps, ReadOnlySpan<float> invQueryNorm, long minSteps, ReadOnlySpan<float> slotCounts, float minCount)
    {
        const int lanes = DotTile.Queries;
        int dim = store.Dim;
        int q = heaps.Length;
        int groups = (q + lanes - 1) / lanes;
        float[] packed = ArrayPool<float>.Shared.Rent(groups * dim * lanes);
        float[] scores = ArrayPool<float>.Shared.Rent(BlockRows * lanes);
        float[] thresholds = ArrayPool<float>.Shared.Rent(groups * lanes);
        float[] invNorms = ArrayPool<float>.Shared.Rent(groups * lanes);
        try
        {
            for (int g = 0; g < groups; g++)
            {
                int first = g * lanes, count = Math.Min(lanes, q - first);
                DotTile.PackQueries(queries.Slice(first * dim, count * dim), dim, packed.AsSpan(g * dim * lanes, dim * lanes));
            }

            for (int i = 0; i < groups * lanes; i++)
            {
                thresholds[i] = i < q ? heaps[i].Threshold : float.PositiveInfinity;
                invNorms[i] = i < q ? invQueryNorm[i] : 0f;
            }

            var rowIds = store.Ids;
            var norms = metric == SimilarityMetric.Cosine ? store.Norms : default;
            var steps = store.Steps;
            for (int start = 0; start < rowIds.Length; start += BlockRows)
            {
                int n = Math.Min(BlockRows, rowIds.Length - start);
                var block = store.Rows(start, n);
                for (int g = 0; g < groups; g++)
                {
                    DotTile.Compute(block, dim, packed.AsSpan(g * dim * lanes, dim * lanes), scores);
                    int valid = Math.Min(lanes, q - (g * lanes));
                    var thresholdsOfGroup = thresholds.AsSpan(g * lanes, lanes);
                    ulong candidates = KeysAndCandidates(scores.AsSpan(0, n * lanes), metric, metric == SimilarityMetric.Cosine ? norms.Slice(start, n) : default, additive.IsEmpty ? additive : additive.Slice(start, n), invNorms.AsSpan(g * lanes, lanes), thresholdsOfGroup);
                    if (valid < lanes)
                    {
                        candidates &= (1UL << valid) - 1;
                    }

                    // Only the queries whose best key in this block reaches their threshold look at its rows.
                    while (candidates != 0)
                    {
                        int lane = BitOperations.TrailingZeroCount(candidates);
                        candidates &= candidates - 1;
                        int qi = (g * lanes) + lane;
                        var heap = heaps[qi];
                        float threshold = thresholdsOfGroup[lane];
                        for (int r = 0; r < n; r++)
                        {
                            // NaN never passes this compare, so it is never kept.
                            float key = scores[(r * lanes) + lane];
                            if (key >= threshold)
                            {
                                threshold = Offer(heap, key, start + r, rowIds, exclude, steps, minSteps, slotCounts, minCount);
                            }
                        }

                        thresholdsOfGroup[lane] = threshold;
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
            ArrayPool<float>.Shared.Return(scores);
            ArrayPool<float>.Shared.Return(thresholds);
            ArrayPool<float>.Shared.Return(invNorms);
        }
    }

    /// <summary>
    /// Turns a block's dots (<paramref name="scores"/>, 64 per row) into keys in place and returns the mask of the
    /// queries whose best key in the block reaches their threshold: the others skip the block. NaN keys never count
    /// as a best key.
    /// </summary>
    private static ulong KeysAndCandidates(Span<float> scores, SimilarityMetric metric, ReadOnlySpan<float> norms, ReadOnlySpan<float> additive, ReadOnlySpan<float> invNorms, ReadOnlySpan<float> thresholds)
    {
        const int lanes = DotTile.Queries, width = 8;
        ref float s = ref MemoryMarshal.GetReference(scores);
        ref float inv = ref MemoryMarshal.GetReference(invNorms);
        var negative = Vector256.Create(float.NegativeInfinity);
        Vector256<float> m0 = negative, m1 = negative, m2 = negative, m3 = negative, m4 = negative, m5 = negative, m6 = negative, m7 = negative;
        int rows = scores.Length / lanes;
        for (int r = 0; r < rows; r++)
        {
            nuint at = (nuint)(r * lanes);
            if (metric == SimilarityMetric.Cosine)
            {
                float norm = norms[r];
                if (norm > 0f)
                {
                    var n = Vector256.Create(norm);
                    for (nuint c = 0; c < lanes; c += width)
                    {
                        (Vector256.LoadUnsafe(ref s, at + c) * Vector256.LoadUnsafe(ref inv, c) / n).StoreUnsafe(ref s, at + c);
                    }
                }
                else
                {
                    scores.Slice((int)at, lanes).Clear();
                }
            }
            else if (!additive.IsEmpty)
            {
                var add = Vector256.Create(additive[r]);
                for (nuint c = 0; c < lanes; c += width)
                {
                    (Vector256.LoadUnsafe(ref s, at + c) + add).StoreUnsafe(ref s, at + c);
                }
            }

            // A running maximum that skips NaN (a NaN key compares false and leaves the maximum as it was).
            m0 = Larger(m0, Vector256.LoadUnsafe(ref s, at));
            m1 = Larger(m1, Vector256.LoadUnsafe(ref s, at + 8));
            m2 = Larger(m2, Vector256.LoadUnsafe(ref s, at + 16));
            m3 = Larger(m3, Vector256.LoadUnsafe(ref s, at + 24));
            m4 = Larger(m4, Vector256.LoadUnsafe(ref s, at + 32));
            m5 = Larger(m5, Vector256.LoadUnsafe(ref s, at + 40));
            m6 = Larger(m6, Vector256.LoadUnsafe(ref s, at + 48));
            m7 = Larger(m7, Vector256.LoadUnsafe(ref s, at + 56));
        }

        ref float t = ref MemoryMarshal.GetReference(thresholds);
        return Reaches(m0, ref t, 0) | Reaches(m1, ref t, 8) | Reaches(m2, ref t, 16) | Reaches(m3, ref t, 24)
            | Reaches(m4, ref t, 32) | Reaches(m5, ref t, 40) | Reaches(m6, ref t, 48) | Reaches(m7, ref t, 56);
    }

    private static Vector256<float> Larger(Vector256<float> max, Vector256<float> value) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(value, max), value, max);

    private static ulong Reaches(Vector256<float> max, ref float thresholds, int lane) =>
        (ulong)Vector256.GreaterThanOrEqual(max, Vector256.LoadUnsafe(ref thresholds, (nuint)lane)).ExtractMostSignificantBits() << lane;
}
