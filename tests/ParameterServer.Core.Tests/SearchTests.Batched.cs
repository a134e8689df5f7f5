using ParameterServer.Core.Kernels;
using ParameterServer.Core.Search;

namespace ParameterServer.Core.Tests;

/// <summary>The batched scan (DotTile, 64 queries per group) against the scalar reference and brute force.</summary>
public partial class SearchTests
{
    public static TheoryData<SimilarityMetric, int, int> BatchedCases
    {
        get
        {
            var data = new TheoryData<SimilarityMetric, int, int>();
            foreach (var metric in new[] { SimilarityMetric.Dot, SimilarityMetric.Cosine })
            {
                foreach (int dim in new[] { 1, 3, 64, 100 })
                {
                    foreach (int queries in new[] { ShardSearch.BatchedQueries, 70, 129 })
                    {
                        data.Add(metric, dim, queries);
                    }
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(KernelDimData))]
    public void DotTileEqualsItsScalarReferenceBitForBit(int dim)
    {
        var rng = new Random(dim + 3);
        foreach (int count in new[] { 1, 37, 64 })
        {
            float[] queries = Gaussian(rng, count * dim, 1.3);
            var packed = new float[dim * DotTile.Queries];
            DotTile.PackQueries(queries, dim, packed);
            foreach (int rows in new[] { 1, 2, 3, 4, 5, 9, 64 })
            {
                float[] block = Gaussian(rng, rows * dim, 0.8);
                var scores = new float[rows * DotTile.Queries];
                DotTile.Compute(block, dim, packed, scores);
                var expected = new float[DotTile.Queries];
                for (int r = 0; r < rows; r++)
                {
                    DotTile.Scalar(block.AsSpan(r * dim, dim), packed, expected);
                    Assert.Equal(expected, scores.AsSpan(r * DotTile.Queries, DotTile.Queries).ToArray());
                    for (int q = 0; q < DotTile.Queries; q++)
                    {
                        double dot = 0;
                        for (int j = 0; q < count && j < dim; j++)
                        {
                            dot += (double)block[(r * dim) + j] * queries[(q * dim) + j];
                        }

                        // Lanes past the packed queries are zero queries.
                        AssertWithin(dot, scores[(r * DotTile.Queries) + q], 1e-5 * (1 + Math.Abs(dot)) * Math.Sqrt(dim), $"dim {dim} rows {rows} row {r} query {q}");
                    }
                }
            }
        }
    }

    [Fact]
    public void DotTilePropagatesNaNOnlyIntoItsRowAndItsQuery()
    {
        const int dim = 64;
        var rng = new Random(9);
        float[] queries = Gaussian(rng, 10 * dim, 1);
        queries[(3 * dim) + 5] = float.NaN;
        var packed = new float[dim * DotTile.Queries];
        DotTile.PackQueries(queries, dim, packed);
        float[] block = Gaussian(rng, 6 * dim, 1);
        block[(4 * dim) + 7] = float.PositiveInfinity * 0f;
        var scores = new float[6 * DotTile.Queries];
        DotTile.Compute(block, dim, packed, scores);
        for (int r = 0; r < 6; r++)
        {
            for (int q = 0; q < DotTile.Queries; q++)
            {
                Assert.Equal(r == 4 || q == 3, float.IsNaN(scores[(r * DotTile.Queries) + q]));
            }
        }

        Assert.Throws<ArgumentException>(() => DotTile.PackQueries(new float[65 * 2], 2, new float[2 * DotTile.Queries]));
        Assert.Throws<ArgumentException>(() => DotTile.Compute(new float[10], 4, packed, scores));
        Assert.Throws<ArgumentException>(() => DotTile.Compute(new float[8], 4, new float[4 * DotTile.Queries], new float[DotTile.Queries]));
    }

    [Theory]
    [MemberData(nameof(BatchedCases))]
    public void BatchedSearchMatchesBruteForceAndOneQueryAtATime(SimilarityMetric metric, int dim, int queryCount)
    {
        var rng = new Random((dim * 31) + queryCount + (int)metric);
        const int rows = 333; // five full 64-row blocks and a short one
        long[] ids = DistinctIds(rng, rows);
        bool cosine = metric == SimilarityMetric.Cosine;
        float[] values = cosine ? Gaussian(rng, rows * dim, 0.7) : Grid(rng, rows * dim);
        var store = StoreWith(dim, ids, values);
        float[] queries = cosine ? Gaussian(rng, queryCount * dim, 2) : Grid(rng, queryCount * dim);
        long[] exclude = ids.Where((_, i) => i % 7 == 3).Concat([long.MaxValue]).Order().ToArray();
        float[]? bias = cosine ? null : Enumerable.Range(0, rows).Select(_ => rng.Next(-4, 5) / 4f).ToArray();
        foreach (int k in new[] { 1, 10, 64 })
        {
            var batched = Search(store, queries, k, metric, exclude, bias);
            for (int q = 0; q < queryCount; q++)
            {
                float[] query = queries.AsSpan(q * dim, dim).ToArray();
                var single = Search(store, query, k, metric, exclude, bias); // one query: the unbatched scan
                var ranking = BruteForceTopK.Rank(ids, values, query, metric, exclude, bias);
                string what = $"{metric} dim {dim} queries {queryCount} k {k} query {q}";
                if (cosine)
                {
                    AssertCosine(ranking, k, batched, q, store, what);
                }
                else
                {
                    AssertExact(ranking.Take(k).ToList(), batched, q, store, what);
                    Assert.Equal(single.IdsOf(0), batched.IdsOf(q));
                    Assert.Equal(single.ScoresOf(0), batched.ScoresOf(q));
                }
            }
        }
    }
}
