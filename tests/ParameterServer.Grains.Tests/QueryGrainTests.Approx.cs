using ParameterServer.Core.Search;

namespace ParameterServer.Grains.Tests;

/// <summary>Approximate search (probes) through each shard's index, on the real two-silo cluster.</summary>
public sealed partial class QueryGrainTests
{
    [Fact]
    public async Task An_approximate_search_answers_exactly_until_the_indexes_are_built_then_from_every_shards_index()
    {
        const int dim = 8, rows = 600, shards = 4;
        var rng = new Random(41);
        long[] ids = DistinctIds(rng, rows);
        float[] values = Grid(rng, rows * dim);
        var table = await ExactTable("approx", dim, shards, ids, values);
        float[] queries = Grid(rng, 3 * dim);
        long[] exclude = [ids[5], ids[77]];
        var exact = await Query.SearchAsync(table.Spec.Name, queries, dim, 10, SimilarityMetric.Dot, exclude);
        Assert.Equal(0, exact.IndexedShards);

        // No index yet: the shards start building theirs and answer exactly meanwhile (or from one already built).
        var first = await Query.SearchAsync(table.Spec.Name, queries, dim, 10, SimilarityMetric.Dot, exclude, probes: 1);
        var built = await Query.BuildIndexAsync(table.Spec.Name, SimilarityMetric.Dot);
        Assert.Equal(shards, built.Length);
        Assert.Equal(rows, built.Sum(b => b.Rows));
        Assert.All(built, b => Assert.Equal(IvfIndex.DefaultLists(b.Rows), b.Lists));

        // Probing every list of every shard's index finds the exact answer, from the indexes.
        var indexed = await Query.SearchAsync(table.Spec.Name, queries, dim, 10, SimilarityMetric.Dot, exclude, probes: built.Max(b => b.Lists));
        Assert.Equal(shards, indexed.IndexedShards);
        for (int q = 0; q < 3; q++)
        {
            var expected = BruteForceTopK.TopK(ids, values, queries.AsSpan(q * dim, dim).ToArray(), SimilarityMetric.Dot, 10, exclude);
            AssertMatchesReference(indexed, q, expected, SimilarityMetric.Dot, $"indexed, query {q}");
            if (first.IndexedShards == 0)
            {
                AssertMatchesReference(first, q, expected, SimilarityMetric.Dot, $"before the index, query {q}");
            }
        }

        // Reads only: no row was created or changed, and bad probes are refused with the limit named.
        Assert.Equal(rows, (await fixture.Client.DescribeAsync(table.Spec.Name)).Rows);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Query.SearchAsync(table.Spec.Name, queries, dim, 10, SimilarityMetric.Dot, probes: -1));
        Assert.Contains("probes must be 0 (exact)", e.Message);
    }
}
