using System.Runtime.InteropServices;

namespace ParameterServer.Core.Search;

/// <summary>One shard's answer to a batch of queries, as <see cref="ShardSearch.Run"/> writes it: query q's hits at
/// <c>[Offsets[q], Offsets[q+1])</c>, best first, raw scores as little-endian floats in <paramref name="ScoreBytes"/>.</summary>
/// <param name="Offsets">Start of each query's hits, plus the end.</param>
/// <param name="Ids">Row ids.</param>
/// <param name="ScoreBytes">Raw scores (squared distances for euclidean).</param>
public readonly record struct ShardHits(int[] Offsets, long[] Ids, byte[] ScoreBytes);

/// <summary>The merged best hits: query q's at <c>[Offsets[q], Offsets[q+1])</c>, with the part and index each came
/// from (to carry anything else a part holds per hit, such as labels).</summary>
/// <param name="Offsets">Start of each query's hits, plus the end.</param>
/// <param name="Ids">Row ids, best first per query.</param>
/// <param name="Scores">Final scores (distances for euclidean).</param>
/// <param name="Parts">The part each hit came from.</param>
/// <param name="Indices">Its index in that part's arrays.</param>
public sealed record MergedHits(int[] Offsets, long[] Ids, float[] Scores, int[] Parts, int[] Indices);

/// <summary>
/// Merges per-shard top-k answers into the best k per query over the whole table: the second half of an exact search,
/// beside <see cref="ShardSearch"/> (the first). Same order as a single scan: higher key first, ties by lower id;
/// euclidean's squared distances become distances.
/// </summary>
public static class SearchMerge
{
    /// <summary>The best <paramref name="k"/> of <paramref name="parts"/> for each of <paramref name="queries"/> queries.</summary>
    public static MergedHits Merge(IReadOnlyList<ShardHits> parts, int queries, int k, SimilarityMetric metric)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentOutOfRangeException.ThrowIfNegative(queries);
        int capacity = 0;
        foreach (var part in parts)
        {
            if (part.Offsets.Length != queries + 1)
            {
                throw new ArgumentException($"A part answers {part.Offsets.Length - 1} queries; the search has {queries}.", nameof(parts));
            }

            capacity += part.Ids.Length;
        }

        capacity = Math.Min(capacity, queries * k);
        var offsets = new int[queries + 1];
        var ids = new long[capacity];
        var scores = new float[capacity];
        var fromPart = new int[capacity];
        var fromIndex = new int[capacity];
        using var heap = new TopKHeap(k);
        Span<long> bestIds = k <= 256 ? stackalloc long[k] : new long[k];
        Span<float> bestKeys = k <= 256 ? stackalloc float[k] : new float[k];
        Span<int> bestTags = k <= 256 ? stackalloc int[k] : new int[k];
        int n = 0;
        for (int q = 0; q < queries; q++)
        {
            for (int p = 0; p < parts.Count; p++)
            {
                var part = parts[p];
                var raw = MemoryMarshal.Cast<byte, float>(part.ScoreBytes.AsSpan());
                for (int i = part.Offsets[q]; i < part.Offsets[q + 1]; i++)
                {
                    // The tag says which part and which of its (at most k) hits for this query.
                    heap.Offer(SimilarityMetrics.KeyOf(metric, raw[i]), part.Ids[i], (p * k) + (i - part.Offsets[q]));
                }
            }

            int kept = heap.Drain(bestIds, bestKeys, bestTags);
            for (int j = 0; j < kept; j++, n++)
            {
                int p = bestTags[j] / k;
                ids[n] = bestIds[j];
                scores[n] = SimilarityMetrics.FinalScore(metric, SimilarityMetrics.RawScoreOf(metric, bestKeys[j]));
                fromPart[n] = p;
                fromIndex[n] = parts[p].Offsets[q] + (bestTags[j] % k);
            }

            offsets[q + 1] = n;
        }

        return n == capacity
            ? new MergedHits(offsets, ids, scores, fromPart, fromIndex)
            : new MergedHits(offsets, ids[..n], scores[..n], fromPart[..n], fromIndex[..n]);
    }
}
