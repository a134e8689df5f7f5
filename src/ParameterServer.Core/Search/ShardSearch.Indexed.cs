using System.Buffers;
using System.Numerics.Tensors;
using ParameterServer.Core.Kernels;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Search;

/// <summary>Approximate top-k through an <see cref="IvfIndex"/> of the shard's rows.</summary>
public static partial class ShardSearch
{
    /// <summary>
    /// Approximate <see cref="Run"/>: for each query, scores the index's centroids by the query's metric (dot, cosine,
    /// or negated squared distance), scans the rows filed under the best <paramref name="probes"/> lists (their
    /// copies as the index took them), then every row added to the store since (exactly, from the store), with the
    /// same rules for exclusions, minimum steps and counts as <see cref="Run"/>. The winners are scored again against
    /// the live rows, so the scores returned are those an exact search gives for the same rows; rows that moved since
    /// the snapshot may be missed or found in the wrong list, which the shard bounds by rebuilding the index
    /// (<see cref="IvfIndex.IsStale"/>). Outputs and their layout are those of <see cref="Run"/>.
    /// </summary>
    public static void RunIndexed(
        ShardStore store,
        IvfIndex index,
        int probes,
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
        ArgumentNullException.ThrowIfNull(index);
        var (q, stride) = Prepare(store, queries, k, metric, additive.Length, slotCounts.Length, ids, rawScores, slots, counts);
        int dim = store.Dim;
        if (index.Dim != dim || index.Generation != store.Generation || index.Rows > store.Count)
        {
            throw new ArgumentException($"The index (dim {index.Dim}, generation {index.Generation}, {index.Rows} rows) does not belong to this store (dim {dim}, generation {store.Generation}, {store.Count} rows).", nameof(index));
        }

        if (probes < 1)
        {
            throw new ArgumentException($"An indexed search probes at least one list; got {probes}.", nameof(probes));
        }

        if (stride == 0)
        {
            return;
        }

        probes = Math.Min(probes, index.Lists);
        var heaps = new TopKHeap[q];
        Span<float> invQueryNorm = q <= 256 ? stackalloc float[q] : new float[q];
        float[] centroidKeys = ArrayPool<float>.Shared.Rent(index.Lists);
        var best = new TopKHeap(probes);
        Span<long> bestLists = probes <= 256 ? stackalloc long[probes] : new long[probes];
        Span<float> bestKeys = probes <= 256 ? stackalloc float[probes] : new float[probes];
        try
        {
            for (int i = 0; i < q; i++)
            {
                heaps[i] = new TopKHeap(stride);
                var query = queries.Slice(i * dim, dim);
                double norm = QueryNorm(query);
                invQueryNorm[i] = norm > 0 ? (float)(1.0 / norm) : 0f;

                var keys = centroidKeys.AsSpan(0, index.Lists);
                KeysOf(index.Centroids, index.CentroidNorms, query, metric, invQueryNorm[i], keys);
                for (int c = 0; c < keys.Length; c++)
                {
                    if (best.Accepts(keys[c], c))
                    {
                        best.Offer(keys[c], c);
                    }
                }

                int chosen = best.Drain(bestLists, bestKeys);
                for (int p = 0; p < chosen; p++)
                {
                    ScanList(store, index, (int)bestLists[p], query, metric, invQueryNorm[i], heaps[i], sortedExclude, additive, minSteps, slotCounts, minCount);
                }
            }

            // Rows added since the snapshot are not in any list: every query scans them as the exact search does.
            if (index.Rows < store.Count)
            {
                Scan(store, queries, metric, sortedExclude, additive, heaps, invQueryNorm, minSteps, slotCounts, minCount, from: index.Rows);
            }

            for (int i = 0; i < q; i++)
            {
                int at = i * stride;
                int n = Rescore(store, heaps[i], queries.Slice(i * dim, dim), metric, invQueryNorm[i], additive, ids.Slice(at, stride), rawScores.Slice(at, stride), slots.Slice(at, stride));
                counts[i] = n;
                for (int j = at; j < at + n; j++)
                {
                    rawScores[j] = SimilarityMetrics.RawScoreOf(metric, rawScores[j]);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(centroidKeys);
            best.Dispose();
            foreach (var heap in heaps)
            {
                heap?.Dispose();
            }
        }
    }

    /// <summary>Keys (higher is better) of <paramref name="rows"/> for one query: dot, cosine, or negated squared distance.</summary>
    private static void KeysOf(ReadOnlySpan<float> rows, ReadOnlySpan<float> norms, ReadOnlySpan<float> query, SimilarityMetric metric, float invQueryNorm, Span<float> keys)
    {
        switch (metric)
        {
            case SimilarityMetric.Euclidean:
                SquaredDistanceRows.Compute(rows, query, keys);
                TensorPrimitives.Negate(keys, keys);
                break;
            case SimilarityMetric.Cosine:
                DotRows.Compute(rows, query, keys);
                CosineKeys(keys, norms, invQueryNorm);
                break;
            default:
                DotRows.Compute(rows, query, keys);
                break;
        }
    }

    /// <summary>Offers the rows of one list (their snapshot copies) to <paramref name="heap"/>, a block at a time.</summary>
    private static void ScanList(ShardStore store, IvfIndex index, int list, ReadOnlySpan<float> query, SimilarityMetric metric, float invQueryNorm, TopKHeap heap, ReadOnlySpan<long> exclude, ReadOnlySpan<float> additive, long minSteps, ReadOnlySpan<float> slotCounts, float minCount)
    {
        int dim = index.Dim;
        var vectors = index.ListVectors(list);
        var listSlots = index.ListSlots(list);
        var norms = index.ListNorms(list);
        var rowIds = store.Ids;
        var steps = store.Steps;
        Span<float> keys = stackalloc float[BlockRows];
        for (int start = 0; start < listSlots.Length; start += BlockRows)
        {
            int n = Math.Min(BlockRows, listSlots.Length - start);
            var blockKeys = keys[..n];
            KeysOf(vectors.Slice(start * dim, n * dim), norms.Slice(start, n), query, metric, invQueryNorm, blockKeys);
            float threshold = heap.Threshold;
            for (int r = 0; r < n; r++)
            {
                int slot = listSlots[start + r];
                float key = additive.IsEmpty ? blockKeys[r] : blockKeys[r] + additive[slot];
                if (key >= threshold)
                {
                    threshold = Offer(heap, key, slot, rowIds, exclude, steps, minSteps, slotCounts, minCount);
                }
            }
        }
    }

    /// <summary>
    /// Scores the heap's rows again against the live rows of the store, with the exact scan's kernels (so a row scores
    /// the same either way), and writes them best first (ties by lower id): returns how many.
    /// </summary>
    private static int Rescore(ShardStore store, TopKHeap heap, ReadOnlySpan<float> query, SimilarityMetric metric, float invQueryNorm, ReadOnlySpan<float> additive, Span<long> ids, Span<float> keys, Span<int> slots)
    {
        int n = heap.Drain(ids, keys, slots);
        Span<float> norm = stackalloc float[1];
        for (int j = 0; j < n; j++)
        {
            var row = store.Row(slots[j]);
            var key = keys.Slice(j, 1);
            if (metric == SimilarityMetric.Cosine)
            {
                norm[0] = TensorPrimitives.Norm(row); // as the store computes its norms
            }

            KeysOf(row, norm, query, metric, invQueryNorm, key);
            if (!additive.IsEmpty)
            {
                key[0] += additive[slots[j]];
            }

            heap.Offer(key[0], ids[j], slots[j]);
        }

        return heap.Drain(ids, keys, slots);
    }
}
