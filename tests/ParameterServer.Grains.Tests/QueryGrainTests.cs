using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Client.Query;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;


namespace ParameterServer.Grains.Tests;

/// <summary>The query grain and shard search on a real two-silo cluster, against the brute-force reference.</summary>
[Collection(ClusterCollection.Name)]
public sealed partial class QueryGrainTests(ClusterFixture fixture)
{
    private QueryClient Query => new(fixture.Client);

    /// <summary>A table whose rows hold exactly <paramref name="values"/>: zeros plus one SGD step of lr 1 with gradient −value.</summary>
    private async Task<TableClient> ExactTable(string stem, int dim, int shards, long[] ids, float[] values)
    {
        var spec = new TableSpec
        {
            Name = ClusterFixture.UniqueName(stem),
            Dim = dim,
            Shards = shards,
            Initializer = InitializerKind.Zeros,
            Optimizer = OptimizerKind.Sgd,
            LearningRate = 1f,
            WeightDecay = 0f,
        };
        var table = await fixture.Client.CreateTableAsync(spec);
        await table.PushAsync(ids, values.Select(v => -v).ToArray());
        return table;
    }

    private static long[] DistinctIds(Random rng, int n)
    {
        var set = new HashSet<long>();
        while (set.Count < n)
        {
            set.Add(rng.NextInt64(-1_000_000_000, 1_000_000_000));
        }

        return [.. set];
    }

    /// <summary>Values on a grid of eighths: every float sum and product below is exact, so scores compare exactly.</summary>
    private static float[] Grid(Random rng, int n) => Enumerable.Range(0, n).Select(_ => rng.Next(-4, 5) / 8f).ToArray();

    private static float[] Gaussian(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();

    private static void AssertMatchesReference(SearchResult result, int q, List<ReferenceHit> expected, SimilarityMetric metric, string where)
    {
        var hits = result.Hits(q);
        Assert.True(expected.Count == hits.Length, $"{where}: {hits.Length} hits, reference {expected.Count}");
        for (int i = 0; i < hits.Length; i++)
        {
            Assert.True(expected[i].Id == hits[i].Id, $"{where} rank {i + 1}: id {hits[i].Id} (score {hits[i].Score}), reference {expected[i].Id} (score {expected[i].Score})");
            double want = metric == SimilarityMetric.Euclidean ? Math.Sqrt(expected[i].Score) : expected[i].Score;
            double tolerance = metric == SimilarityMetric.Dot ? 0 : 1e-5 * Math.Max(1, Math.Abs(want));
            Assert.True(Math.Abs(hits[i].Score - want) <= tolerance, $"{where} rank {i + 1}: score {hits[i].Score}, reference {want}");
            Assert.False(float.IsNaN(hits[i].Score));
        }
    }

    [Theory]
    [InlineData(1, SimilarityMetric.Dot)]
    [InlineData(3, SimilarityMetric.Euclidean)]
    [InlineData(8, SimilarityMetric.Cosine)]
    [InlineData(8, SimilarityMetric.Dot)]
    [InlineData(64, SimilarityMetric.Euclidean)]
    [InlineData(64, SimilarityMetric.Cosine)]
    public async Task Search_over_every_shard_equals_the_brute_force_reference(int shards, SimilarityMetric metric)
    {
        const int dim = 16, rows = 400;
        var rng = new Random(shards + (int)metric);
        long[] ids = DistinctIds(rng, rows);
        float[] values = metric == SimilarityMetric.Cosine ? Gaussian(rng, rows * dim) : Grid(rng, rows * dim);
        var table = await ExactTable("search", dim, shards, ids, values);
        float[] queries = metric == SimilarityMetric.Cosine ? Gaussian(rng, 5 * dim) : Grid(rng, 5 * dim);
        long[] exclude = [ids[0], ids[17], ids[399], 123_456_789_012];
        foreach (int k in new[] { 1, 7, 100, 1000 })
        {
            var result = await Query.SearchAsync(table.Spec.Name, queries, dim, k, metric, exclude);
            Assert.Equal(5, result.Queries);
            for (int q = 0; q < 5; q++)
            {
                var expected = BruteForceTopK.TopK(ids, values, queries.AsSpan(q * dim, dim).ToArray(), metric, k, exclude);
                AssertMatchesReference(result, q, expected, metric, $"{shards} shards, {metric}, k {k}, query {q}");
            }
        }
    }

    [Fact]
    public async Task Ties_rank_by_lower_id_across_shards_and_silos()
    {
        const int dim = 8;
        var rng = new Random(5);
        long[] ids = DistinctIds(rng, 300);
        float[] same = Enumerable.Repeat(0.5f, 300 * dim).ToArray();
        var table = await ExactTable("ties", dim, 16, ids, same);
        var result = await Query.SearchAsync(table.Spec.Name, Enumerable.Repeat(0.25f, dim).ToArray(), dim, 20, SimilarityMetric.Dot);
        Assert.Equal(ids.Order().Take(20), result.Hits(0).Select(h => h.Id));
        var info = await fixture.Client.DescribeAsync(table.Spec.Name);
        Assert.True(info.Shards.Select(s => s.Silo).Distinct().Count() >= 2, "the 16 shards should live on both silos of the test cluster");
    }

    [Fact]
    public async Task Cosine_follows_rows_changed_by_pushes()
    {
        const int dim = 32;
        var spec = new TableSpec { Name = ClusterFixture.UniqueName("norms"), Dim = dim, Shards = 4, InitScale = 0.1f, Seed = 3, Optimizer = OptimizerKind.Sgd, LearningRate = 0.5f };
        var table = await fixture.Client.CreateTableAsync(spec);
        var rng = new Random(8);
        long[] ids = DistinctIds(rng, 200);
        var values = new float[ids.Length * dim];
        await table.PullAsync(ids, values);
        float[] query = Gaussian(rng, dim);
        var before = await Query.SearchAsync(spec.Name, query, dim, 10, SimilarityMetric.Cosine);
        AssertMatchesReference(before, 0, BruteForceTopK.TopK(ids, values, query, SimilarityMetric.Cosine, 10), SimilarityMetric.Cosine, "before pushes");

        // Pull the worst-scoring rows strongly towards the query (and grow their norms): they must now rank first.
        var worst = BruteForceTopK.Rank(ids, values, query, SimilarityMetric.Cosine).TakeLast(10).Select(h => h.Id).ToArray();
        var grads = new float[worst.Length * dim];
        for (int i = 0; i < worst.Length; i++)
        {
            for (int j = 0; j < dim; j++)
            {
                grads[(i * dim) + j] = -(i + 1) * query[j];
            }
        }

        await table.PushAsync(worst, grads);
        await table.PullAsync(ids, values);
        var after = await Query.SearchAsync(spec.Name, query, dim, 10, SimilarityMetric.Cosine);
        AssertMatchesReference(after, 0, BruteForceTopK.TopK(ids, values, query, SimilarityMetric.Cosine, 10), SimilarityMetric.Cosine, "after pushes");
        Assert.Equal(worst.Order(), after.Hits(0).Select(h => h.Id).Order());
    }

    [Fact]
    public async Task Dot_with_a_bias_table_adds_each_rows_bias()
    {
        const int dim = 8;
        var rng = new Random(11);
        long[] ids = DistinctIds(rng, 250);
        float[] values = Grid(rng, ids.Length * dim);
        float[] biases = Grid(rng, ids.Length);
        var items = await ExactTable("items", dim, 6, ids, values);
        var bias = await ExactTable("bias", 1, 6, ids, biases);
        float[] query = Grid(rng, dim);
        long[] exclude = [ids[3], ids[4]];
        var result = await fixture.Grains.GetGrain<IQueryGrain>(0).Search(
            new SearchRequest(items.Spec.Name, RowBlock.From(query, 1, dim), 25, SimilarityMetric.Dot, exclude, bias.Spec.Name));
        AssertMatchesReference(result, 0, BruteForceTopK.TopK(ids, values, query, SimilarityMetric.Dot, 25, exclude, biases), SimilarityMetric.Dot, "dot + bias");
        await Assert.ThrowsAsync<ArgumentException>(() => fixture.Grains.GetGrain<IQueryGrain>(0).Search(
            new SearchRequest(items.Spec.Name, RowBlock.From(query, 1, dim), 25, SimilarityMetric.Cosine, [], bias.Spec.Name)));
    }

    [Fact]
    public async Task Queries_by_key_and_label_and_a_missing_label()
    {
        const int dim = 8;
        var rng = new Random(21);
        long[] ids = [.. Enumerable.Range(1, 50).Select(i => (long)i)];
        float[] values = Gaussian(rng, ids.Length * dim);
        var table = await ExactTable("labels", dim, 4, ids, values);
        await fixture.Client.SetLabelsAsync(table, ids.ToDictionary(id => id, id => $"Movie {id} (1995)"));

        var byLabel = await Query.NearestAsync(table.Spec.Name, QueryTarget.ByLabel("Movie 7 (1995)"), 5, SimilarityMetric.Cosine);
        Assert.Equal(7, byLabel.QueryId);
        Assert.Equal(7, byLabel.Hits[0].Id);
        Assert.Equal("Movie 7 (1995)", byLabel.Hits[0].Label);
        var expected = BruteForceTopK.TopK(ids, values, values.AsSpan(6 * dim, dim).ToArray(), SimilarityMetric.Cosine, 5);
        Assert.Equal(expected.Select(h => h.Id), byLabel.Hits.Select(h => h.Id));
        Assert.All(byLabel.Hits, h => Assert.Equal($"Movie {h.Id} (1995)", h.Label));

        var ignoringCase = await Query.NearestAsync(table.Spec.Name, QueryTarget.ByLabel("movie 7 (1995)"), 5, SimilarityMetric.Cosine, excludeSelf: true);
        Assert.Equal(7, ignoringCase.QueryId);
        Assert.Equal(expected.Skip(1).Select(h => h.Id), ignoringCase.Hits.Take(4).Select(h => h.Id));

        var byKey = await Query.NearestAsync(table.Spec.Name, QueryTarget.ById(7), 5, SimilarityMetric.Cosine);
        Assert.Equal(byLabel.Hits, byKey.Hits);

        var missing = await Assert.ThrowsAsync<KeyNotFoundException>(() => Query.NearestAsync(table.Spec.Name, QueryTarget.ByLabel("Movie 99 (1995)"), 5, SimilarityMetric.Cosine));
        Assert.Contains("No row labelled \"Movie 99 (1995)\"", missing.Message, StringComparison.Ordinal);
        var noRow = await Assert.ThrowsAsync<KeyNotFoundException>(() => Query.NearestAsync(table.Spec.Name, QueryTarget.ById(99), 5, SimilarityMetric.Cosine));
        Assert.Contains("no row with id 99", noRow.Message, StringComparison.Ordinal);

        // The row is resolved on the silo: the answer names it and carries its vector.
        var fromRow = await fixture.Grains.GetGrain<IQueryGrain>(0).SearchFrom(new RowSearchRequest(table.Spec.Name, null, "Movie 7 (1995)", 5, SimilarityMetric.Cosine, ExcludeSelf: true));
        Assert.Equal((7L, "Movie 7 (1995)", 1), (fromRow.Id, fromRow.Label, fromRow.LabelMatches));
        Assert.Equal(values.AsSpan(6 * dim, dim).ToArray(), fromRow.Vector.Values.ToArray());
        Assert.Equal(ignoringCase.Hits, fromRow.Result.Hits(0));
        var both = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Grains.GetGrain<IQueryGrain>(0).SearchFrom(new RowSearchRequest(table.Spec.Name, 7, "Movie 7 (1995)", 5, SimilarityMetric.Cosine)));
        Assert.Contains("by key or by label, not both or neither", both.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => fixture.Grains.GetGrain<IQueryGrain>(0).SearchFrom(new RowSearchRequest(table.Spec.Name, null, null, 5, SimilarityMetric.Cosine)));
        var badK = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Grains.GetGrain<IQueryGrain>(0).SearchFrom(new RowSearchRequest(table.Spec.Name, 7, null, 0, SimilarityMetric.Cosine)));
        Assert.Contains("k must be between 1 and", badK.Message, StringComparison.Ordinal);
        Assert.Equal(50, (await fixture.Client.DescribeAsync(table.Spec.Name)).Rows);
    }

    [Fact]
    public async Task An_analogy_searches_the_sum_of_unit_vectors_without_the_rows_it_names()
    {
        const int dim = 8;
        var rng = new Random(41);
        long[] ids = [.. Enumerable.Range(1, 60).Select(i => (long)i)];
        float[] values = Gaussian(rng, ids.Length * dim);
        var table = await ExactTable("analogy", dim, 4, ids, values);
        await fixture.Client.SetLabelsAsync(table, ids.ToDictionary(id => id, id => $"w{id}"));

        // Reference: unit(w3) + unit(w5) - unit(w9), in double, then brute-force cosine without rows 3, 5 and 9.
        var query = new double[dim];
        foreach (var (id, sign) in new[] { (3L, 1.0), (5L, 1.0), (9L, -1.0) })
        {
            var v = values.AsSpan((int)(id - 1) * dim, dim).ToArray();
            double norm = Math.Sqrt(v.Sum(x => (double)x * x));
            for (int j = 0; j < dim; j++)
            {
                query[j] += sign * v[j] / norm;
            }
        }

        var expected = BruteForceTopK.TopK(ids, values, [.. query.Select(x => (float)x)], SimilarityMetric.Cosine, 5, exclude: [3, 5, 9]);
        var answer = await Query.AnalogyAsync(table.Spec.Name, QueryClient.ParseTerms(["w3,id:5"]), QueryClient.ParseTerms(["W9"]), 5);
        Assert.Equal(expected.Select(h => h.Id), answer.Result.Hits(0).Select(h => h.Id));
        Assert.Equal([(3L, "w3"), (5L, "w5")], answer.Positive.Select(r => (r.Id, r.Label)));
        Assert.Equal((9L, "w9"), (answer.Negative[0].Id, answer.Negative[0].Label)); // found ignoring case, stored label shown

        var missing = await Assert.ThrowsAsync<KeyNotFoundException>(() => Query.AnalogyAsync(table.Spec.Name, [RowRef.ByLabel("w3"), RowRef.ByLabel("nope")], [], 5));
        Assert.Contains("No row labelled \"nope\"", missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Query.AnalogyAsync(table.Spec.Name, [], [RowRef.ById(3)], 5));
        var zero = await Assert.ThrowsAsync<ArgumentException>(() => Query.AnalogyAsync(table.Spec.Name, [RowRef.ById(3)], [RowRef.ById(3)], 5));
        Assert.Contains("zero vector", zero.Message, StringComparison.Ordinal);
        Assert.Equal(60, (await fixture.Client.DescribeAsync(table.Spec.Name)).Rows);
    }

    [Fact]
    public async Task A_minimum_training_count_leaves_out_rows_seen_less_often()
    {
        const int dim = 8;
        var rng = new Random(43);
        long[] ids = [.. Enumerable.Range(1, 80).Select(i => (long)i)];
        float[] values = Gaussian(rng, ids.Length * dim);
        var table = await ExactTable("counted", dim, 4, ids, values);
        // Row i was seen i % 7 times; rows 1..10 have no count at all (they read 0).
        var counts = await fixture.Client.CreateTableAsync(new TableSpec { Name = TrainingCounts.TableOf(table.Spec.Name), Dim = 1, Shards = 3, Initializer = InitializerKind.Zeros, InitScale = 0 });
        long[] counted = [.. ids.Where(id => id > 10)];
        await counts.WriteAsync(counted, counted.Select(id => (float)(id % 7)).ToArray());

        // Without the table named in the metadata the filter is refused, saying why.
        var none = await Assert.ThrowsAsync<ArgumentException>(() => Query.SearchAsync(table.Spec.Name, values.AsSpan(0, dim), dim, 5, SimilarityMetric.Cosine, minCount: 3));
        Assert.Contains("no training counts", none.Message, StringComparison.Ordinal);
        await fixture.Client.SetTextAsync(table.Spec.Name, TrainingCounts.MetadataKey, counts.Spec.Name);

        float[] query = values.AsSpan(20 * dim, dim).ToArray();
        var rare = ids.Where(id => id <= 10 || id % 7 < 3).ToArray();
        var expected = BruteForceTopK.TopK(ids, values, query, SimilarityMetric.Cosine, 10, exclude: rare);
        var result = await Query.SearchAsync(table.Spec.Name, query, dim, 10, SimilarityMetric.Cosine, minCount: 3);
        Assert.Equal(expected.Select(h => h.Id), result.Hits(0).Select(h => h.Id));
        var byLabel = await Query.NearestAsync(table.Spec.Name, QueryTarget.ById(21), 10, SimilarityMetric.Cosine, minCount: 3);
        Assert.Equal(expected.Select(h => h.Id), byLabel.Hits.Select(h => h.Id));
    }

    [Fact]
    public void Analogy_terms_split_on_commas_not_followed_by_a_space()
    {
        Assert.Equal([RowRef.ByLabel("king"), RowRef.ByLabel("woman"), RowRef.ById(7)], QueryClient.ParseTerms(["king,woman", "id:7"]));
        Assert.Equal([RowRef.ByLabel("Good, the Bad and the Ugly, The (1966)")], QueryClient.ParseTerms(["Good, the Bad and the Ugly, The (1966)"]));
        Assert.Throws<ArgumentException>(() => QueryClient.ParseTerms(["king,,woman"]));
        Assert.Throws<ArgumentException>(() => QueryClient.ParseTerms(["id:x"]));
    }

    [Fact]
    public async Task A_zero_vector_under_cosine_scores_zero_and_returns_the_lowest_ids()
    {
        const int dim = 8;
        var rng = new Random(31);
        long[] ids = DistinctIds(rng, 100);
        float[] values = Gaussian(rng, ids.Length * dim);
        values.AsSpan(0, dim).Clear();
        var table = await ExactTable("zero", dim, 4, ids, values);
        var result = await Query.SearchAsync(table.Spec.Name, new float[dim], dim, 10, SimilarityMetric.Cosine);
        Assert.Equal(ids.Order().Take(10), result.Hits(0).Select(h => h.Id));
        Assert.All(result.Hits(0), h => Assert.Equal(0f, h.Score));

        // The zero row scores 0 against any query, never NaN.
        var all = await Query.SearchAsync(table.Spec.Name, Gaussian(rng, dim), dim, 100, SimilarityMetric.Cosine);
        Assert.DoesNotContain(all.Hits(0), h => float.IsNaN(h.Score));
        Assert.Equal(0f, all.Hits(0).Single(h => h.Id == ids[0]).Score);
    }

    [Fact]
    public async Task An_empty_table_and_k_above_the_rows()
    {
        var empty = await fixture.Client.CreateTableAsync(new TableSpec { Name = ClusterFixture.UniqueName("empty"), Dim = 4, Shards = 3 });
        var none = await Query.SearchAsync(empty.Spec.Name, [1, 2, 3, 4], 4, 10, SimilarityMetric.Euclidean);
        Assert.Empty(none.Hits(0));
        Assert.Equal(0, (await fixture.Client.DescribeAsync(empty.Spec.Name)).Rows);
    }

    [Fact]
    public async Task Bad_queries_are_refused_and_change_nothing()
    {
        const int dim = 8;
        var rng = new Random(41);
        long[] ids = DistinctIds(rng, 40);
        float[] values = Gaussian(rng, ids.Length * dim);
        var table = await ExactTable("bad", dim, 4, ids, values);
        var tablesBefore = await fixture.Client.ListTablesAsync();

        var unknown = await Assert.ThrowsAsync<KeyNotFoundException>(() => Query.SearchAsync("no-such-table", new float[dim], dim, 5, SimilarityMetric.Cosine));
        Assert.Contains("Unknown table 'no-such-table'", unknown.Message, StringComparison.Ordinal);
        var wrongDim = await Assert.ThrowsAsync<ArgumentException>(() => Query.SearchAsync(table.Spec.Name, new float[3], 3, 5, SimilarityMetric.Cosine));
        Assert.Contains("dim 3", wrongDim.Message, StringComparison.Ordinal);
        Assert.Contains("dim 8", wrongDim.Message, StringComparison.Ordinal);
        foreach (int k in new[] { 0, -1, 1001 })
        {
            var badK = await Assert.ThrowsAsync<ArgumentException>(() => Query.SearchAsync(table.Spec.Name, new float[dim], dim, k, SimilarityMetric.Cosine));
            Assert.Contains("k must be between 1 and 1000", badK.Message, StringComparison.Ordinal);
        }

        float[] nan = new float[dim];
        nan[3] = float.NaN;
        var badValue = await Assert.ThrowsAsync<ArgumentException>(() => Query.SearchAsync(table.Spec.Name, nan, dim, 5, SimilarityMetric.Dot));
        Assert.Contains("component 3", badValue.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Query.SearchAsync(table.Spec.Name, new float[dim * (QueryLimits.MaxQueries + 1)], dim, 5, SimilarityMetric.Dot));
        await Assert.ThrowsAsync<ArgumentException>(() => Query.SearchAsync(table.Spec.Name, new float[dim], dim, 5, (SimilarityMetric)9));

        Assert.Equal(tablesBefore, await fixture.Client.ListTablesAsync());
        var info = await fixture.Client.DescribeAsync(table.Spec.Name);
        Assert.Equal(40, info.Rows);
        var now = new float[values.Length];
        await table.PullAsync(ids, now);
        Assert.Equal(values, now);
    }
}
