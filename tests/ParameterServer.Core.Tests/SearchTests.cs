using ParameterServer.Core.Kernels;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Tests;

public partial class SearchTests
{
    private const double CosineTolerance = 1e-5;

    private static readonly RowInitializer Normal = new(InitializerKind.Normal, 0.1f, 42);
    private static readonly RowInitializer Zeros = new(InitializerKind.Zeros, 0f, 1);

    // w = 0 - 1 * (0 + 0 * w) ... a push of -target onto a zero row leaves exactly target.
    private static readonly OptimizerSettings Exact = new(OptimizerKind.Sgd, LearningRate: 1f, WeightDecay: 0f);

    private static readonly int[] KernelDims = [1, 3, 8, 16, 64, 100, 128];
    private static readonly int[] SearchDims = [8, 13, 64];
    private static readonly int[] RowCounts = [1, 63, 64, 65, 1000];

    public static TheoryData<int> KernelDimData => new(KernelDims);

    public static TheoryData<SimilarityMetric, int, int> GridCases
    {
        get
        {
            var data = new TheoryData<SimilarityMetric, int, int>();
            foreach (var metric in new[] { SimilarityMetric.Dot, SimilarityMetric.Euclidean })
            {
                foreach (int dim in SearchDims)
                {
                    foreach (int rows in RowCounts)
                    {
                        data.Add(metric, dim, rows);
                    }
                }
            }

            return data;
        }
    }

    public static TheoryData<int, int> CosineCases
    {
        get
        {
            var data = new TheoryData<int, int>();
            foreach (int dim in SearchDims)
            {
                foreach (int rows in RowCounts)
                {
                    data.Add(dim, rows);
                }
            }

            return data;
        }
    }

    public static TheoryData<SimilarityMetric> Metrics => new(SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.Euclidean);

    // ---- kernels ---------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(KernelDimData))]
    public void DotRowsAndSquaredDistanceRowsMatchScalarLoop(int dim)
    {
        var rng = new Random(1000 + dim);
        for (int rows = 0; rows <= 9; rows++)
        {
            float[] block = Gaussian(rng, rows * dim, 1);
            float[] query = Gaussian(rng, dim, 1);

            // One spare slot past the block: the kernels must leave it alone.
            float[] dots = Filled(rows + 1, -7f);
            float[] distances = Filled(rows + 1, -7f);
            DotRows.Compute(block, query, dots);
            SquaredDistanceRows.Compute(block, query, distances);
            for (int r = 0; r < rows; r++)
            {
                double dot = 0, dotAbs = 0, squared = 0;
                for (int j = 0; j < dim; j++)
                {
                    double x = block[(r * dim) + j], y = query[j];
                    dot += x * y;
                    dotAbs += Math.Abs(x * y);
                    squared += (x - y) * (x - y);
                }

                // Relative to the sum of magnitudes: cancellation in a dot product is not the kernel's error.
                AssertWithin(dot, dots[r], (1e-4 * dotAbs) + 1e-7, $"dot dim {dim} rows {rows} row {r}");
                AssertWithin(squared, distances[r], (1e-4 * squared) + 1e-7, $"squared distance dim {dim} rows {rows} row {r}");
            }

            Assert.Equal(-7f, dots[rows]);
            Assert.Equal(-7f, distances[rows]);
        }
    }

    [Theory]
    [MemberData(nameof(KernelDimData))]
    public void DotRowsForTwoQueriesEqualsOneQueryAtATime(int dim)
    {
        var rng = new Random(2000 + dim);
        for (int rows = 0; rows <= 9; rows++)
        {
            float[] block = Gaussian(rng, rows * dim, 1);
            float[] q0 = Gaussian(rng, dim, 1), q1 = Gaussian(rng, dim, 1);
            float[] one0 = new float[rows], one1 = new float[rows], two0 = new float[rows], two1 = new float[rows];
            DotRows.Compute(block, q0, one0);
            DotRows.Compute(block, q1, one1);
            DotRows.Compute2(block, q0, q1, two0, two1);

            // The same accumulation order per row, so the results are bit for bit the same.
            Assert.Equal(one0, two0);
            Assert.Equal(one1, two1);
        }

        Assert.Throws<ArgumentException>(() => DotRows.Compute2(new float[dim * 2], new float[dim], new float[dim + 1], new float[2], new float[2]));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(13)]
    public void KernelsPropagateNaNOnlyIntoTheRowsItTouches(int dim)
    {
        var rng = new Random(dim);
        float[] block = Gaussian(rng, 6 * dim, 1);
        float[] query = Gaussian(rng, dim, 1);
        block[(2 * dim) + 1] = float.NaN;
        block[(5 * dim) + dim - 1] = float.NaN;
        float[] dots = new float[6], distances = new float[6];
        DotRows.Compute(block, query, dots);
        SquaredDistanceRows.Compute(block, query, distances);
        for (int r = 0; r < 6; r++)
        {
            bool bad = r is 2 or 5;
            Assert.Equal(bad, float.IsNaN(dots[r]));
            Assert.Equal(bad, float.IsNaN(distances[r]));
        }
    }

    [Fact]
    public void KernelsRejectBadBlocksAndShortDestinations()
    {
        float[] query = new float[8];
        var ex = Assert.Throws<ArgumentException>(() => DotRows.Compute(new float[20], query, new float[10]));
        Assert.Equal("rows", ex.ParamName);
        Assert.Contains("20", ex.Message, StringComparison.Ordinal);
        Assert.Contains("dim 8", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => SquaredDistanceRows.Compute(new float[20], query, new float[10]));
        Assert.Equal("rows", ex.ParamName);

        ex = Assert.Throws<ArgumentException>(() => DotRows.Compute(new float[40], query, new float[4]));
        Assert.Equal("destination", ex.ParamName);
        Assert.Contains("5 rows", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => SquaredDistanceRows.Compute(new float[40], query, new float[4]));
        Assert.Equal("destination", ex.ParamName);

        // An empty query is no dimension at all.
        Assert.Throws<ArgumentException>(() => DotRows.Compute(new float[8], [], new float[1]));
        Assert.Throws<ArgumentException>(() => SquaredDistanceRows.Compute(new float[8], [], new float[1]));

        // A destination longer than needed is fine.
        DotRows.Compute(new float[40], query, new float[9]);
        SquaredDistanceRows.Compute(new float[40], query, new float[9]);
    }

    // ---- TopKHeap --------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(100)]
    public void TopKHeapMatchesSortReference(int k)
    {
        var rng = new Random(k);
        foreach (int n in new[] { 0, 1, k - 1, k, k + 1, (3 * k) + 7, 2000 }.Where(n => n >= 0).Distinct())
        {
            using var heap = new TopKHeap(k);
            long[] ids = DistinctIds(rng, n);
            var pairs = new List<(float Key, long Id, int Tag)>();
            for (int i = 0; i < n; i++)
            {
                // Eleven distinct finite keys (so many ties), a few infinities and some NaN.
                float key = rng.Next(20) switch
                {
                    0 => float.NaN,
                    1 => float.NaN,
                    2 => float.PositiveInfinity,
                    3 => float.NegativeInfinity,
                    _ => rng.Next(-5, 6) * 0.5f,
                };
                heap.Offer(key, ids[i], i);
                pairs.Add((key, ids[i], i));
            }

            var expected = pairs.Where(p => !float.IsNaN(p.Key)).OrderByDescending(p => p.Key).ThenBy(p => p.Id).Take(k).ToList();
            Assert.Equal(expected.Count, heap.Count);
            long[] outIds = Filled(k + 2, -1L);
            float[] outKeys = new float[k + 2];
            int[] outTags = new int[k + 2];
            int written = heap.Drain(outIds, outKeys, outTags);
            Assert.Equal(expected.Count, written);
            Assert.Equal(expected.Select(p => p.Id), outIds.Take(written));
            Assert.Equal(expected.Select(p => p.Key), outKeys.Take(written));
            Assert.Equal(expected.Select(p => p.Tag), outTags.Take(written));
            Assert.DoesNotContain(outKeys.Take(written), float.IsNaN);
            Assert.Equal(-1L, outIds[written]);

            // Drained means empty.
            Assert.Equal(0, heap.Count);
            Assert.Equal(0, heap.Drain(outIds, outKeys));
        }
    }

    [Fact]
    public void TopKHeapIgnoresNaNAndIsReusableAfterDrainAndClear()
    {
        using var heap = new TopKHeap(3);
        heap.Offer(float.NaN, 1);
        heap.Offer(float.NaN, 2);
        Assert.Equal(0, heap.Count);
        heap.Offer(1f, 10);
        heap.Offer(2f, 30);
        heap.Offer(2f, 20);
        heap.Offer(float.NaN, 0);
        heap.Offer(0.5f, 5);
        Assert.Equal(3, heap.Count);
        Assert.False(heap.Accepts(0.5f, 0));
        Assert.False(heap.Accepts(1f, 11));
        Assert.True(heap.Accepts(1f, 9));
        Assert.False(heap.Accepts(float.NaN, -100));

        long[] ids = new long[3];
        float[] keys = new float[3];
        Assert.Throws<ArgumentException>(() => heap.Drain(new long[2], new float[3]));
        Assert.Throws<ArgumentException>(() => heap.Drain(new long[3], new float[3], new int[2]));
        Assert.Equal(3, heap.Drain(ids, keys));
        Assert.Equal([20L, 30L, 10L], ids);
        Assert.Equal([2f, 2f, 1f], keys);
        Assert.Equal(0, heap.Count);

        // Reuse after a drain: a fresh top-3.
        heap.Offer(-1f, 7);
        heap.Offer(-1f, 3);
        Assert.Equal(2, heap.Drain(ids, keys));
        Assert.Equal([3L, 7L], ids.Take(2));

        heap.Offer(5f, 1);
        heap.Clear();
        Assert.Equal(0, heap.Count);
        heap.Offer(4f, 2);
        Assert.Equal(1, heap.Drain(ids, keys));
        Assert.Equal(2L, ids[0]);
        Assert.Equal(4f, keys[0]);

        Assert.Throws<ArgumentOutOfRangeException>(() => new TopKHeap(0));
    }

    // ---- ShardSearch against the brute-force reference -------------------------------------------------------

    [Theory]
    [MemberData(nameof(GridCases))]
    public void GridSearchMatchesBruteForceExactly(SimilarityMetric metric, int dim, int rows)
    {
        var rng = new Random((dim * 7919) + (rows * 31) + (int)metric);
        long[] ids = DistinctIds(rng, rows);
        float[] values = Grid(rng, rows * dim);
        var store = StoreWith(dim, ids, values);
        float[] queries = Grid(rng, 3 * dim);

        // The last query is a row itself: distance 0 for euclidean.
        values.AsSpan(0, dim).CopyTo(queries.AsSpan(2 * dim));
        foreach (int k in new[] { 1, 5, 64, Math.Min(rows + 3, ShardSearch.MaxK) }.Distinct())
        {
            var result = Search(store, queries, k, metric);
            Assert.Equal(Math.Min(k, rows), result.Stride);
            for (int q = 0; q < 3; q++)
            {
                var expected = BruteForceTopK.TopK(ids, values, queries.AsSpan(q * dim, dim).ToArray(), metric, k);
                AssertExact(expected, result, q, store, $"{metric} dim {dim} rows {rows} k {k} query {q}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(CosineCases))]
    public void CosineSearchMatchesBruteForce(int dim, int rows)
    {
        var rng = new Random((dim * 104729) + rows);
        long[] ids = DistinctIds(rng, rows);
        float[] values = Gaussian(rng, rows * dim, 0.7);
        var store = StoreWith(dim, ids, values);
        float[] queries = Gaussian(rng, 3 * dim, 2);

        // The last query is a scaled copy of a row: that row scores ~1.
        for (int j = 0; j < dim; j++)
        {
            queries[(2 * dim) + j] = 3f * values[((rows / 2) * dim) + j];
        }

        foreach (int k in new[] { 1, 5, 64, Math.Min(rows + 3, ShardSearch.MaxK) }.Distinct())
        {
            var result = Search(store, queries, k, SimilarityMetric.Cosine);
            for (int q = 0; q < 3; q++)
            {
                var ranking = BruteForceTopK.Rank(ids, values, queries.AsSpan(q * dim, dim).ToArray(), SimilarityMetric.Cosine);
                AssertCosine(ranking, k, result, q, store, $"cosine dim {dim} rows {rows} k {k} query {q}");
            }

            Assert.Equal(ids[rows / 2], result.IdsOf(2)[0]);
        }
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void IdenticalRowsRankByLowerId(SimilarityMetric metric)
    {
        foreach (int dim in new[] { 8, 13 })
        {
            var rng = new Random(dim);
            const int rows = 150;
            long[] ids = DistinctIds(rng, rows);
            float[] row = Grid(rng, dim);
            row[0] = 0.5f;
            float[] values = Enumerable.Range(0, rows).SelectMany(_ => row).ToArray();
            var store = StoreWith(dim, ids, values);
            float[] query = Grid(rng, dim);
            query[0] = 0.25f;
            foreach (int k in new[] { 1, 10, 64, 65, 149, 150, 1000 })
            {
                var result = Search(store, query, k, metric);
                long[] lowest = ids.Order().Take(k).ToArray();
                Assert.Equal(lowest, result.IdsOf(0));
                Assert.Single(result.ScoresOf(0).Distinct());
                var expected = BruteForceTopK.TopK(ids, values, query, metric, k);
                Assert.Equal(lowest, expected.Select(h => h.Id));
                if (metric != SimilarityMetric.Cosine)
                {
                    AssertExact(expected, result, 0, store, $"{metric} dim {dim} k {k}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void KLargerThanTheRowsReturnsEveryRowRanked(SimilarityMetric metric)
    {
        const int dim = 8;
        var rng = new Random(77);
        long[] ids = DistinctIds(rng, 10);
        float[] values = Grid(rng, 10 * dim);
        var store = StoreWith(dim, ids, values);
        float[] query = Grid(rng, dim);
        query[3] = 0.5f;
        var result = Search(store, query, 50, metric);
        Assert.Equal(10, result.Stride);
        Assert.Equal(10, result.Counts[0]);
        Assert.Equal(ids.Order(), result.IdsOf(0).Order());
        var expected = BruteForceTopK.TopK(ids, values, query, metric, 50);
        Assert.Equal(expected.Select(h => h.Id), result.IdsOf(0));
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void EmptyStoreReturnsNoHits(SimilarityMetric metric)
    {
        var store = new ShardStore(8, Normal, Exact);
        Assert.Equal(0, ShardSearch.Stride(store, 10));
        int[] counts = [-1, -1, -1];
        ShardSearch.Run(store, new float[16], 10, metric, [], [], [], [], [], counts);
        Assert.Equal([0, 0, -1], counts);
        var result = Search(store, Gaussian(new Random(1), 8, 1), 1000, metric, exclude: [1, 2]);
        Assert.Equal(0, result.Counts[0]);
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void ExcludedIdsAreSkipped(SimilarityMetric metric)
    {
        const int dim = 13;
        var rng = new Random(5 + (int)metric);
        long[] ids = DistinctIds(rng, 130);
        float[] values = metric == SimilarityMetric.Cosine ? Gaussian(rng, ids.Length * dim, 1) : Grid(rng, ids.Length * dim);
        var store = StoreWith(dim, ids, values);
        float[] query = metric == SimilarityMetric.Cosine ? Gaussian(rng, dim, 1) : Grid(rng, dim);
        var unexcluded = BruteForceTopK.Rank(ids, values, query, metric);

        // Exclude most of the would-be top 20, some other rows, and ids that are not in the store at all.
        long[] exclude = unexcluded.Take(20).Where((_, i) => i % 4 != 1).Select(h => h.Id)
            .Concat(ids.Skip(100).Take(5))
            .Concat([long.MinValue, -3_000_000, 3_000_000, long.MaxValue])
            .Distinct().Order().ToArray();
        int excludedPresent = exclude.Count(ids.Contains);
        foreach (int k in new[] { 1, 10, 20, 130, 1000 })
        {
            var result = Search(store, query, k, metric, exclude);
            Assert.Equal(Math.Min(k, ids.Length - excludedPresent), result.Counts[0]);
            Assert.DoesNotContain(result.IdsOf(0), exclude.Contains);
            var ranking = BruteForceTopK.Rank(ids, values, query, metric, exclude);
            if (metric == SimilarityMetric.Cosine)
            {
                AssertCosine(ranking, k, result, 0, store, $"cosine k {k}");
            }
            else
            {
                AssertExact(ranking.Take(k).ToList(), result, 0, store, $"{metric} k {k}");
            }
        }

        // Excluding every row leaves nothing.
        var none = Search(store, query, 10, metric, ids.Order().ToArray());
        Assert.Equal(0, none.Counts[0]);
    }

    [Theory]
    [InlineData(1, SimilarityMetric.Cosine, 13)]
    [InlineData(1, SimilarityMetric.Dot, 16)]
    [InlineData(1, SimilarityMetric.Euclidean, 8)]
    [InlineData(37, SimilarityMetric.Cosine, 16)]
    [InlineData(37, SimilarityMetric.Dot, 13)]
    [InlineData(37, SimilarityMetric.Euclidean, 16)]
    [InlineData(300, SimilarityMetric.Dot, 8)]
    public void BatchResultsEqualOneQuerySearches(int batch, SimilarityMetric metric, int dim)
    {
        var rng = new Random((batch * 13) + dim);
        const int rows = 200;
        bool grid = metric != SimilarityMetric.Cosine;
        long[] ids = DistinctIds(rng, rows);
        float[] values = grid ? Grid(rng, rows * dim) : Gaussian(rng, rows * dim, 1);
        var store = StoreWith(dim, ids, values);
        float[] queries = grid ? Grid(rng, batch * dim) : Gaussian(rng, batch * dim, 1);
        long[] exclude = ids.Where((_, i) => i % 9 == 0).Append(12_345_678).Order().ToArray();
        const int k = 10;
        var all = Search(store, queries, k, metric, exclude);
        Assert.Equal(k, all.Stride);
        Assert.Equal(batch, all.Counts.Length);
        for (int q = 0; q < batch; q++)
        {
            float[] query = queries.AsSpan(q * dim, dim).ToArray();
            var one = Search(store, query, k, metric, exclude);
            if (grid)
            {
                Assert.Equal(one.IdsOf(0), all.IdsOf(q));
                Assert.Equal(one.ScoresOf(0), all.ScoresOf(q));
                Assert.Equal(one.SlotsOf(0), all.SlotsOf(q));
            }
            else
            {
                // A batch of BatchedQueries or more sums each dot in another order than one query does (DotTile): its
                // cosines may differ in the last bits, never by more than rounding (both are checked against the
                // reference below).
                Assert.Equal(one.Counts[0], all.Counts[q]);
                AssertCosine(BruteForceTopK.Rank(ids, values, query, metric, exclude), k, one, 0, store, $"cosine one query {q}");
            }

            var ranking = BruteForceTopK.Rank(ids, values, query, metric, exclude);
            if (grid)
            {
                AssertExact(ranking.Take(k).ToList(), all, q, store, $"{metric} batch {batch} query {q}");
            }
            else
            {
                AssertCosine(ranking, k, all, q, store, $"cosine batch {batch} query {q}");
            }
        }
    }

    // ---- cosine keeps up with pushes and restores -------------------------------------------------------------

    [Fact]
    public void CosineFollowsPushesAndRestores()
    {
        const int dim = 16;
        var store = new ShardStore(dim, Normal, new OptimizerSettings(OptimizerKind.Sgd, LearningRate: 0.5f));
        long[] ids = Enumerable.Range(0, 300).Select(i => ((long)i * 37) - 5000).ToArray();
        store.Pull(ids, new float[ids.Length * dim]);
        AssertNormsCurrent(store);
        var snapshot = store.TakeSnapshot();
        var rng = new Random(3);
        float[] query = Gaussian(rng, dim, 1);
        float[] queries = [.. query, .. Gaussian(rng, dim, 1)];
        var before = Search(store, queries, 20, SimilarityMetric.Cosine);

        // Rows 10..19 are pushed hard towards the query, rows 20..29 away from it, and rows 30..49 are only scaled
        // (w -> 4w: the same direction, a new norm, so a stale norm would change their cosine).
        long[] pushed = ids.Skip(10).Take(40).ToArray();
        float[] pulled = new float[pushed.Length * dim];
        store.Pull(pushed, pulled);
        float[] g = new float[pushed.Length * dim];
        for (int i = 0; i < pushed.Length; i++)
        {
            for (int j = 0; j < dim; j++)
            {
                g[(i * dim) + j] = i switch
                {
                    < 10 => -8f * query[j],
                    < 20 => 8f * query[j],
                    _ => -6f * pulled[(i * dim) + j],
                };
            }
        }

        store.Push(pushed, g);
        Assert.Equal(300, store.Count);
        AssertNormsCurrent(store);
        float[] now = new float[ids.Length * dim];
        store.Pull(ids, now);
        Assert.Equal(now, store.CopyValues());
        var after = Search(store, queries, 20, SimilarityMetric.Cosine);
        for (int q = 0; q < 2; q++)
        {
            var ranking = BruteForceTopK.Rank(ids, now, queries.AsSpan(q * dim, dim).ToArray(), SimilarityMetric.Cosine);
            AssertCosine(ranking, 20, after, q, store, $"after push query {q}");
        }

        // The rows pushed towards the query now lead; the ones pushed away are gone from the top.
        Assert.Equal(ids.Skip(10).Take(10).Order(), after.IdsOf(0).Take(10).Order());
        Assert.DoesNotContain(after.IdsOf(0), ids.Skip(20).Take(10).Contains);
        Assert.NotEqual(before.IdsOf(0), after.IdsOf(0));

        // Restore brings back the old rows and their norms, even after rows were added since the snapshot.
        store.Pull([777_777, 888_888], new float[2 * dim]);
        store.Restore(snapshot);
        Assert.Equal(300, store.Count);
        AssertNormsCurrent(store);
        var restored = Search(store, queries, 20, SimilarityMetric.Cosine);
        for (int q = 0; q < 2; q++)
        {
            var ranking = BruteForceTopK.Rank(snapshot.Ids, snapshot.Values, queries.AsSpan(q * dim, dim).ToArray(), SimilarityMetric.Cosine);
            AssertCosine(ranking, 20, restored, q, store, $"after restore query {q}");
            Assert.Equal(before.IdsOf(q), restored.IdsOf(q));
            Assert.Equal(before.ScoresOf(q), restored.ScoresOf(q));
        }

        // And into a fresh store whose own initializer would have given other rows.
        var other = new ShardStore(dim, Normal with { Seed = 7 }, new OptimizerSettings(OptimizerKind.Sgd, LearningRate: 0.5f));
        other.Restore(snapshot);
        AssertNormsCurrent(other);
        var fresh = Search(other, queries, 20, SimilarityMetric.Cosine);
        Assert.Equal(before.IdsOf(0), fresh.IdsOf(0));
        Assert.Equal(before.ScoresOf(0), fresh.ScoresOf(0));
    }

    [Fact]
    public void ValuesIdsAndNormsDescribeTheResidentRows()
    {
        const int dim = 5;
        var store = new ShardStore(dim, Normal, new OptimizerSettings(OptimizerKind.Adam, LearningRate: 0.1f), initialCapacity: 16);
        Assert.True((store.Count == 0));
        Assert.True(store.Ids.IsEmpty);
        Assert.True(store.Norms.IsEmpty);
        long[] ids = Enumerable.Range(0, 600).Select(i => (long)((i * 7) - 1000)).ToArray();
        float[] pulled = new float[ids.Length * dim];
        store.Pull(ids, pulled);
        Assert.Equal(ids, store.Ids.ToArray());
        Assert.Equal(pulled, store.CopyValues());
        AssertNormsCurrent(store);
        store.Push(ids.Where((_, i) => i % 3 == 0).ToArray(), Gaussian(new Random(2), 200 * dim, 1));
        AssertNormsCurrent(store);
        store.Clear();
        Assert.True(store.Norms.IsEmpty);
        store.Pull([5], new float[dim]);
        AssertNormsCurrent(store);
    }

    [Theory]
    [InlineData(1e20f)]
    [InlineData(1e-23f)]
    [InlineData(3e30f)]
    public void CosineIgnoresTheScaleOfTheQueryEvenAtExtremes(float scale)
    {
        const int dim = 8;
        var rng = new Random(3);
        long[] ids = DistinctIds(rng, 50);
        float[] values = Gaussian(rng, 50 * dim, 1);
        var store = StoreWith(dim, ids, values);
        float[] query = Gaussian(rng, dim, 1);
        var plain = Search(store, query, 10, SimilarityMetric.Cosine);
        var scaled = Search(store, Array.ConvertAll(query, x => x * scale), 10, SimilarityMetric.Cosine);
        Assert.Equal(plain.IdsOf(0), scaled.IdsOf(0));
        for (int i = 0; i < 10; i++)
        {
            AssertWithin(plain.ScoresOf(0)[i], scaled.ScoresOf(0)[i], 1e-5, $"scale {scale} rank {i + 1}");
        }
    }

    // ---- zero vectors ------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(8)]
    [InlineData(13)]
    public void ZeroQueryUnderCosineScoresZeroAndReturnsTheLowestIds(int dim)
    {
        var rng = new Random(dim);
        const int rows = 100;
        long[] ids = DistinctIds(rng, rows);
        float[] values = Gaussian(rng, rows * dim, 1);
        Array.Clear(values, 7 * dim, dim);
        var store = StoreWith(dim, ids, values);
        float[] queries = new float[2 * dim];
        Gaussian(rng, dim, 1).CopyTo(queries, dim);
        foreach (int k in new[] { 1, 7, 64, 100, 1000 })
        {
            var result = Search(store, queries, k, SimilarityMetric.Cosine);
            Assert.Equal(ids.Order().Take(k), result.IdsOf(0));
            Assert.All(result.ScoresOf(0), s => Assert.Equal(0f, s));
            Assert.DoesNotContain(result.Scores, float.IsNaN);
            var ranking = BruteForceTopK.Rank(ids, values, new float[dim], SimilarityMetric.Cosine);
            Assert.Equal(ranking.Take(k).Select(h => h.Id), result.IdsOf(0));

            // The other query of the batch is unaffected by its zero neighbour.
            AssertCosine(BruteForceTopK.Rank(ids, values, queries.AsSpan(dim).ToArray(), SimilarityMetric.Cosine), k, result, 1, store, $"dim {dim} k {k}");
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(64)]
    public void ZeroRowsScoreZeroUnderCosineAndNothingIsNaN(int dim)
    {
        var rng = new Random(dim + 1);
        const int rows = 70;
        long[] ids = DistinctIds(rng, rows);
        float[] values = Gaussian(rng, rows * dim, 1);
        int[] zeroSlots = [0, 3, 64, 69];
        foreach (int s in zeroSlots)
        {
            Array.Clear(values, s * dim, dim);
        }

        var store = StoreWith(dim, ids, values);
        Assert.All(zeroSlots, s => Assert.Equal(0f, store.Norms[s]));
        float[] queries = Gaussian(rng, 4 * dim, 1);
        var result = Search(store, queries, rows, SimilarityMetric.Cosine);
        Assert.DoesNotContain(result.Scores, float.IsNaN);
        for (int q = 0; q < 4; q++)
        {
            long[] got = result.IdsOf(q);
            float[] scores = result.ScoresOf(q);
            Assert.Equal(rows, got.Length);
            foreach (int s in zeroSlots)
            {
                Assert.Equal(0f, scores[Array.IndexOf(got, ids[s])]);
            }

            AssertCosine(BruteForceTopK.Rank(ids, values, queries.AsSpan(q * dim, dim).ToArray(), SimilarityMetric.Cosine), rows, result, q, store, $"dim {dim} query {q}");
        }

        // Every row zero and a zero query: all scores 0, lowest ids first, under every metric.
        var zero = StoreWith(dim, ids, new float[rows * dim]);
        foreach (var metric in new[] { SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.Euclidean })
        {
            var all = Search(zero, new float[dim], 5, metric);
            Assert.Equal(ids.Order().Take(5), all.IdsOf(0));
            Assert.All(all.ScoresOf(0), s => Assert.Equal(0f, s));
        }
    }

    // ---- additive term and argument checks -----------------------------------------------------------------------

    [Theory]
    [InlineData(8, 65)]
    [InlineData(13, 200)]
    [InlineData(64, 1)]
    public void DotWithAdditiveTermMatchesReference(int dim, int rows)
    {
        var rng = new Random(dim * rows);
        long[] ids = DistinctIds(rng, rows);
        float[] values = Grid(rng, rows * dim);
        var store = StoreWith(dim, ids, values);
        float[] bias = Enumerable.Range(0, rows).Select(_ => rng.Next(-8, 9) / 8f).ToArray();
        float[] queries = Grid(rng, 3 * dim);
        long[] exclude = [ids[rows / 2]];
        foreach (int k in new[] { 1, 5, 64, 1000 })
        {
            var plain = Search(store, queries, k, SimilarityMetric.Dot);
            var biased = Search(store, queries, k, SimilarityMetric.Dot, additive: bias);
            var biasedExcluding = Search(store, queries, k, SimilarityMetric.Dot, exclude, bias);
            for (int q = 0; q < 3; q++)
            {
                float[] query = queries.AsSpan(q * dim, dim).ToArray();
                AssertExact(BruteForceTopK.TopK(ids, values, query, SimilarityMetric.Dot, k), plain, q, store, $"plain k {k}");
                AssertExact(BruteForceTopK.TopK(ids, values, query, SimilarityMetric.Dot, k, additive: bias), biased, q, store, $"biased k {k}");
                AssertExact(BruteForceTopK.TopK(ids, values, query, SimilarityMetric.Dot, k, exclude, bias), biasedExcluding, q, store, $"biased excluding k {k}");
            }
        }
    }

    [Fact]
    public void InvalidSearchArgumentsThrowAndSayWhatIsWrong()
    {
        const int dim = 8;
        var rng = new Random(4);
        long[] ids = DistinctIds(rng, 20);
        var store = StoreWith(dim, ids, Grid(rng, 20 * dim));
        float[] query = Grid(rng, dim);
        float[] bias = new float[20];

        var ex = Run(store, query, 5, SimilarityMetric.Cosine, bias);
        Assert.Contains("additive", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cosine", ex.Message, StringComparison.Ordinal);
        ex = Run(store, query, 5, SimilarityMetric.Euclidean, bias);
        Assert.Contains("euclidean", ex.Message, StringComparison.Ordinal);
        ex = Run(store, query, 5, SimilarityMetric.Dot, new float[19]);
        Assert.Contains("additive", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(20)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("19", ex.Message, StringComparison.Ordinal);

        ex = Run(store, query, 0, SimilarityMetric.Dot);
        Assert.Contains("k must be between 1 and 1000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("got 0", ex.Message, StringComparison.Ordinal);
        ex = Run(store, query, 1001, SimilarityMetric.Dot);
        Assert.Contains("got 1001", ex.Message, StringComparison.Ordinal);
        ex = Run(store, query, -1, SimilarityMetric.Euclidean);
        Assert.Contains("got -1", ex.Message, StringComparison.Ordinal);

        ex = Run(store, new float[dim + 3], 5, SimilarityMetric.Dot);
        Assert.Contains("11 values", ex.Message, StringComparison.Ordinal);
        Assert.Contains("dim 8", ex.Message, StringComparison.Ordinal);
        ex = Run(store, [], 5, SimilarityMetric.Cosine);
        Assert.Contains("0 values", ex.Message, StringComparison.Ordinal);

        ex = Run(store, query, 5, (SimilarityMetric)9);
        Assert.Contains("Unknown metric 9", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cosine, dot, euclidean", ex.Message, StringComparison.Ordinal);

        // Output spans too short for the hits.
        ex = Assert.Throws<ArgumentException>(() => ShardSearch.Run(store, query, 5, SimilarityMetric.Dot, [], [], new long[4], new float[5], new int[5], new int[1]));
        Assert.Contains("too short", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ShardSearch.Run(store, [.. query, .. query], 5, SimilarityMetric.Dot, [], [], new long[10], new float[10], new int[10], new int[1]));
        Assert.Throws<ArgumentNullException>(() => ShardSearch.Stride(null!, 5));

        // The edges of the valid range are fine.
        Assert.Equal(1, Search(store, query, 1, SimilarityMetric.Dot).Counts[0]);
        Assert.Equal(20, Search(store, query, ShardSearch.MaxK, SimilarityMetric.Dot, additive: bias).Counts[0]);
        ShardSearch.Validate(dim, dim, ShardSearch.MaxK, SimilarityMetric.Dot, 20, 20);
        Assert.Throws<ArgumentException>(() => ShardSearch.Validate(dim, dim, 5, SimilarityMetric.Dot, 20, 21));
    }

    // ---- metric names and score conventions ---------------------------------------------------------------------

    [Theory]
    [InlineData("cosine", SimilarityMetric.Cosine)]
    [InlineData("COSINE", SimilarityMetric.Cosine)]
    [InlineData("Dot", SimilarityMetric.Dot)]
    [InlineData("dot", SimilarityMetric.Dot)]
    [InlineData("euclidean", SimilarityMetric.Euclidean)]
    [InlineData(" EuClIdEaN ", SimilarityMetric.Euclidean)]
    public void ParseMetricIgnoresCase(string name, SimilarityMetric expected)
    {
        Assert.Equal(expected, SimilarityMetrics.Parse(name));
        Assert.Equal(expected, SimilarityMetrics.Parse(SimilarityMetrics.NameOf(expected)));
    }

    [Fact]
    public void ParseUnknownMetricListsValidNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => SimilarityMetrics.Parse("manhattan"));
        Assert.Contains("manhattan", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cosine, dot, euclidean", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SimilarityMetrics.Parse(string.Empty));
        Assert.Throws<ArgumentException>(() => SimilarityMetrics.Parse(null!));
        Assert.Equal(["cosine", "dot", "euclidean"], SimilarityMetrics.Names);
        Assert.Throws<ArgumentException>(() => SimilarityMetrics.Validate((SimilarityMetric)3));
    }

    [Fact]
    public void ScoreConventions()
    {
        Assert.Equal(3f, SimilarityMetrics.FinalScore(SimilarityMetric.Euclidean, 9f));
        Assert.Equal(0f, SimilarityMetrics.FinalScore(SimilarityMetric.Euclidean, 0f));
        Assert.Equal(MathF.Sqrt(2f), SimilarityMetrics.FinalScore(SimilarityMetric.Euclidean, 2f));
        Assert.Equal(-0.25f, SimilarityMetrics.FinalScore(SimilarityMetric.Dot, -0.25f));
        Assert.Equal(0.5f, SimilarityMetrics.FinalScore(SimilarityMetric.Cosine, 0.5f));

        // Keys rank higher-is-better: a smaller squared distance gets a larger key.
        Assert.True(SimilarityMetrics.KeyOf(SimilarityMetric.Euclidean, 1f) > SimilarityMetrics.KeyOf(SimilarityMetric.Euclidean, 4f));
        Assert.True(SimilarityMetrics.KeyOf(SimilarityMetric.Dot, 4f) > SimilarityMetrics.KeyOf(SimilarityMetric.Dot, 1f));
        foreach (var metric in new[] { SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.Euclidean })
        {
            Assert.Equal(2.5f, SimilarityMetrics.RawScoreOf(metric, SimilarityMetrics.KeyOf(metric, 2.5f)));
        }

        // Search reports squared euclidean distances; the final score is the distance.
        const int dim = 8;
        float[] row = [3, 4, 0, 0, 0, 0, 0, 0];
        var store = StoreWith(dim, [9], row);
        var result = Search(store, new float[dim], 1, SimilarityMetric.Euclidean);
        Assert.Equal(25f, result.ScoresOf(0)[0]);
        Assert.Equal(5f, SimilarityMetrics.FinalScore(SimilarityMetric.Euclidean, result.ScoresOf(0)[0]));
    }

    // ---- Peek and FindLabel -----------------------------------------------------------------------------------------

    [Fact]
    public void PeekCopiesExistingRowsAndCreatesNone()
    {
        const int dim = 7;
        var store = new ShardStore(dim, Normal, new OptimizerSettings(OptimizerKind.Adagrad, LearningRate: 0.1f, Epsilon: 1e-10f));
        long[] existing = [1, 2, 3];
        store.Pull(existing, new float[3 * dim]);
        store.Push([2], Gaussian(new Random(9), dim, 5));
        float[] current = new float[3 * dim];
        store.Pull(existing, current);

        long[] ids = [2, 99, 1, -5, 3, 99];
        float[] peeked = Filled(ids.Length * dim, float.NaN);
        bool[] found = new bool[ids.Length];
        Assert.Equal(3, store.Peek(ids, peeked, found));
        Assert.Equal([true, false, true, false, true, false], found);
        Assert.Equal(3, store.Count);
        Assert.Equal(-1, store.Find(99));
        Assert.Equal(current.AsSpan(dim, dim).ToArray(), peeked.AsSpan(0, dim).ToArray());
        Assert.Equal(current.AsSpan(0, dim).ToArray(), peeked.AsSpan(2 * dim, dim).ToArray());
        Assert.Equal(current.AsSpan(2 * dim, dim).ToArray(), peeked.AsSpan(4 * dim, dim).ToArray());

        // A missing row reads as the initializer would fill it: exactly what Pull creates later.
        float[] init = new float[dim];
        Normal.Fill(99, init);
        Assert.Equal(init, peeked.AsSpan(dim, dim).ToArray());
        Assert.Equal(init, peeked.AsSpan(5 * dim, dim).ToArray());
        float[] created = new float[2 * dim];
        store.Pull([99, -5], created);
        Assert.Equal(5, store.Count);
        Assert.Equal(created.AsSpan(0, dim).ToArray(), peeked.AsSpan(dim, dim).ToArray());
        Assert.Equal(created.AsSpan(dim, dim).ToArray(), peeked.AsSpan(3 * dim, dim).ToArray());

        // Now they exist.
        Assert.Equal(2, store.Peek([99, -5], new float[2 * dim], found.AsSpan(0, 2)));
        Assert.Equal(0, store.Peek([], [], []));
        Assert.Throws<ArgumentException>(() => store.Peek([1, 2], new float[(2 * dim) - 1], new bool[2]));
        Assert.Throws<ArgumentException>(() => store.Peek([1, 2], new float[2 * dim], new bool[1]));
        Assert.Equal(5, store.Count);
    }

    [Fact]
    public void FindLabelSeparatesExactAndIgnoreCaseMatches()
    {
        var store = new ShardStore(2, Normal, new OptimizerSettings());
        var exact = new List<long>();
        var ignoringCase = new List<long>();
        store.Pull([1, 2], new float[4]);
        store.FindLabel("alice", exact, ignoringCase);
        Assert.Empty(exact);
        Assert.Empty(ignoringCase);

        store.SetLabel(10, "Alice");
        store.SetLabel(11, "alice");
        store.SetLabel(12, "ALICE");
        store.SetLabel(13, "Bob");
        store.SetLabel(14, null);
        store.SetLabel(15, "alice ");
        store.SetLabel(16, "alice");

        store.FindLabel("alice", exact, ignoringCase);
        Assert.Equal([11L, 16L], exact);
        Assert.Equal([10L, 12L], ignoringCase);

        // Results are appended, not replaced.
        store.FindLabel("bob", exact, ignoringCase);
        Assert.Equal([11L, 16L], exact);
        Assert.Equal([10L, 12L, 13L], ignoringCase);

        exact.Clear();
        ignoringCase.Clear();
        store.FindLabel("Bob", exact, ignoringCase);
        Assert.Equal([13L], exact);
        Assert.Empty(ignoringCase);
        store.FindLabel("carol", exact, ignoringCase);
        store.FindLabel(string.Empty, exact, ignoringCase);
        Assert.Equal([13L], exact);
        Assert.Empty(ignoringCase);

        Assert.Throws<ArgumentNullException>(() => store.FindLabel(null!, exact, ignoringCase));
        Assert.Throws<ArgumentNullException>(() => store.FindLabel("x", null!, ignoringCase));
        Assert.Throws<ArgumentNullException>(() => store.FindLabel("x", exact, null!));

        // Labels survive a snapshot and restore.
        var snapshot = store.TakeSnapshot();
        store.Clear();
        store.FindLabel("Alice", exact, ignoringCase);
        Assert.Equal([13L], exact);
        store.Restore(snapshot);
        exact.Clear();
        store.FindLabel("Alice", exact, ignoringCase);
        Assert.Equal([10L], exact);
        Assert.Equal([11L, 12L, 16L], ignoringCase);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static float[] Gaussian(Random rng, int n, double scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(scale * Math.Sqrt(-2.0 * Math.Log(1.0 - rng.NextDouble())) * Math.Cos(2.0 * Math.PI * rng.NextDouble()));
        }

        return a;
    }

    // Multiples of 1/8 in [-1/2, 1/2]: every product, sum and squared difference below is exact in float, so
    // scores compare exactly and ties really are ties.
    private static float[] Grid(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = rng.Next(-4, 5) / 8f;
        }

        return a;
    }

    private static T[] Filled<T>(int n, T value)
    {
        var a = new T[n];
        Array.Fill(a, value);
        return a;
    }

    // Distinct ids in random order (so slot order is not id order), negative ones included.
    private static long[] DistinctIds(Random rng, int n)
    {
        var ids = new List<long>(n);
        var seen = new HashSet<long>();
        while (ids.Count < n)
        {
            long id = rng.NextInt64(-1_000_000, 1_000_000);
            if (seen.Add(id))
            {
                ids.Add(id);
            }
        }

        return [.. ids];
    }

    // A store whose rows hold exactly the given values, in slot order: zero rows, then one SGD step of -target.
    private static ShardStore StoreWith(int dim, long[] ids, float[] values)
    {
        var store = new ShardStore(dim, Zeros, Exact);
        if (ids.Length > 0)
        {
            store.Push(ids, Array.ConvertAll(values, v => -v));
        }

        Assert.Equal(ids, store.Ids.ToArray());
        Assert.Equal(values, store.CopyValues());
        return store;
    }

    private static SearchResult Search(ShardStore store, float[] queries, int k, SimilarityMetric metric, long[]? exclude = null, float[]? additive = null)
    {
        int q = queries.Length / store.Dim;
        int stride = ShardSearch.Stride(store, k);
        var result = new SearchResult(stride, Filled(q, -1), new long[q * stride], new float[q * stride], new int[q * stride]);
        ShardSearch.Run(store, queries, k, metric, exclude ?? [], additive ?? [], result.Ids, result.Scores, result.Slots, result.Counts);
        Assert.All(result.Counts, c => Assert.InRange(c, 0, stride));
        return result;
    }

    private static ArgumentException Run(ShardStore store, float[] queries, int k, SimilarityMetric metric, float[]? additive = null) =>
        Assert.Throws<ArgumentException>(() => ShardSearch.Run(store, queries, k, metric, [], additive ?? [], new long[100], new float[100], new int[100], new int[10]));

    private static void AssertExact(List<ReferenceHit> expected, SearchResult actual, int q, ShardStore store, string what)
    {
        Assert.True(expected.Select(h => h.Id).SequenceEqual(actual.IdsOf(q)), $"{what}: ids {string.Join(",", actual.IdsOf(q))}, expected {string.Join(",", expected.Select(h => h.Id))}");
        Assert.Equal(expected.Select(h => (float)h.Score), actual.ScoresOf(q));
        AssertSlots(actual, q, store);
    }

    // Cosine scores carry float rounding: ids must match the reference except where two reference scores are
    // within rounding of each other (then either order is right); every score must be within the tolerance.
    private static void AssertCosine(List<ReferenceHit> ranking, int k, SearchResult actual, int q, ShardStore store, string what)
    {
        const double nearTie = 1e-6;
        int n = Math.Min(k, ranking.Count);
        long[] ids = actual.IdsOf(q);
        float[] scores = actual.ScoresOf(q);
        Assert.Equal(n, ids.Length);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        var scoreOf = ranking.ToDictionary(h => h.Id, h => h.Score);
        for (int i = 0; i < n; i++)
        {
            double expected = ranking[i].Score;
            Assert.False(float.IsNaN(scores[i]), $"{what}: NaN at {i}");
            Assert.True(Math.Abs(scores[i] - expected) <= CosineTolerance, $"{what}: score {i} is {scores[i]:R}, expected {expected:R}");
            Assert.True(scoreOf.TryGetValue(ids[i], out double own), $"{what}: id {ids[i]} at {i} is not a candidate");
            bool separated = (i == 0 || ranking[i - 1].Score - expected > nearTie) && (i + 1 >= ranking.Count || expected - ranking[i + 1].Score > nearTie);
            if (separated)
            {
                Assert.True(ranking[i].Id == ids[i], $"{what}: rank {i} is id {ids[i]}, expected {ranking[i].Id}");
            }
            else
            {
                Assert.True(Math.Abs(own - expected) <= nearTie * 4, $"{what}: rank {i} is id {ids[i]} (score {own:R}), expected a near tie of {expected:R}");
            }
        }

        AssertSlots(actual, q, store);
    }

    private static void AssertSlots(SearchResult actual, int q, ShardStore store)
    {
        long[] ids = actual.IdsOf(q);
        int[] slots = actual.SlotsOf(q);
        for (int i = 0; i < ids.Length; i++)
        {
            Assert.Equal(ids[i], store.IdAt(slots[i]));
        }
    }

    private static void AssertNormsCurrent(ShardStore store)
    {
        Assert.Equal(store.Count, store.Norms.Length);
        for (int slot = 0; slot < store.Count; slot++)
        {
            AssertWithin(BruteForceTopK.Norm(store.Row(slot)), store.Norms[slot], 1e-6 * Math.Max(1e-3, BruteForceTopK.Norm(store.Row(slot))), $"norm of slot {slot}");
        }
    }

    private static void AssertWithin(double expected, float actual, double tolerance, string what)
    {
        if (!(Math.Abs(actual - expected) <= tolerance))
        {
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:R}).");
        }
    }

    private sealed record SearchResult(int Stride, int[] Counts, long[] Ids, float[] Scores, int[] Slots)
    {
        public long[] IdsOf(int q) => Ids.AsSpan(q * Stride, Counts[q]).ToArray();

        public float[] ScoresOf(int q) => Scores.AsSpan(q * Stride, Counts[q]).ToArray();

        public int[] SlotsOf(int q) => Slots.AsSpan(q * Stride, Counts[q]).ToArray();
    }
}
