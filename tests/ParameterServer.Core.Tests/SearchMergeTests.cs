using ParameterServer.Core.Search;

namespace ParameterServer.Core.Tests;

/// <summary>Merging per-shard top-k answers gives the top-k of their union: checked against sorting the union.</summary>
public class SearchMergeTests
{
    [Theory]
    [InlineData(SimilarityMetric.Dot, 1, 1, 1)]
    [InlineData(SimilarityMetric.Dot, 4, 3, 10)]
    [InlineData(SimilarityMetric.Cosine, 8, 5, 1)]
    [InlineData(SimilarityMetric.Euclidean, 4, 2, 10)]
    [InlineData(SimilarityMetric.Euclidean, 3, 4, 300)]
    public void The_merge_is_the_top_k_of_the_union(SimilarityMetric metric, int parts, int queries, int k)
    {
        var rng = new Random(parts * 31 + queries + k);
        var shards = new List<ShardHits>();
        var union = new List<(int Q, long Id, float Raw)>[queries];
        for (int q = 0; q < queries; q++)
        {
            union[q] = [];
        }

        long nextId = 0;
        for (int p = 0; p < parts; p++)
        {
            var offsets = new int[queries + 1];
            var ids = new List<long>();
            var raw = new List<float>();
            for (int q = 0; q < queries; q++)
            {
                // A shard answers at most k hits per query, best first, with ties (scores on a coarse grid) by lower id.
                int n = rng.Next(0, k + 1);
                var hits = Enumerable.Range(0, n).Select(_ => (Id: nextId++ * 7 % 1_000_003, Raw: rng.Next(0, 20) / 4f)).ToList();
                hits = metric == SimilarityMetric.Euclidean
                    ? [.. hits.OrderBy(h => h.Raw).ThenBy(h => h.Id)]
                    : [.. hits.OrderByDescending(h => h.Raw).ThenBy(h => h.Id)];
                ids.AddRange(hits.Select(h => h.Id));
                raw.AddRange(hits.Select(h => h.Raw));
                union[q].AddRange(hits.Select(h => (q, h.Id, h.Raw)));
                offsets[q + 1] = ids.Count;
            }

            shards.Add(new ShardHits(offsets, [.. ids], [.. raw.SelectMany(BitConverter.GetBytes)]));
        }

        var merged = SearchMerge.Merge(shards, queries, k, metric);
        for (int q = 0; q < queries; q++)
        {
            var best = (metric == SimilarityMetric.Euclidean
                ? union[q].OrderBy(h => h.Raw).ThenBy(h => h.Id)
                : union[q].OrderByDescending(h => h.Raw).ThenBy(h => h.Id)).Take(k).ToList();
            var got = Enumerable.Range(merged.Offsets[q], merged.Offsets[q + 1] - merged.Offsets[q]).ToList();
            Assert.Equal(best.Select(h => h.Id), got.Select(i => merged.Ids[i]));
            Assert.Equal(best.Select(h => metric == SimilarityMetric.Euclidean ? MathF.Sqrt(h.Raw) : h.Raw), got.Select(i => merged.Scores[i]));
            foreach (int i in got)
            {
                // The source points at the hit in its part.
                var part = shards[merged.Parts[i]];
                Assert.Equal(merged.Ids[i], part.Ids[merged.Indices[i]]);
            }
        }
    }
}
