using ParameterServer.Core.Hashing;
using ParameterServer.Core.Routing;

namespace ParameterServer.Core.Tests;

/// <summary>The one routing of ids to shards, against a plain reference: group by <see cref="Mix64.ShardOf"/>, keep order.</summary>
public class ShardPlanTests
{
    [Theory]
    [InlineData(0, 4, 10)]
    [InlineData(1, 1, 1)]
    [InlineData(1000, 8, 1000)]
    [InlineData(1000, 8, 7)]
    [InlineData(5000, 300, 64)]
    public void Every_id_goes_once_to_its_shard_in_order_and_calls_respect_the_size_limit(int count, int shards, int maxRows)
    {
        var rng = new Random(count + shards);
        long[] ids = [.. Enumerable.Range(0, count).Select(_ => rng.NextInt64(-1_000_000_000, 1_000_000_000))];
        using var plan = ShardPlan.Of(ids, shards, maxRows);

        // Reference: for each shard ascending, the positions of its ids in the order given, cut into chunks.
        var expected = Enumerable.Range(0, shards)
            .SelectMany(s => Enumerable.Range(0, count).Where(i => Mix64.ShardOf(ids[i], shards) == s).Chunk(maxRows).Select(chunk => (Shard: s, Positions: chunk)))
            .ToList();
        Assert.Equal(expected.Count, plan.Calls.Count);
        for (int c = 0; c < expected.Count; c++)
        {
            var call = plan.Calls[c];
            Assert.Equal(expected[c].Shard, call.Shard);
            Assert.True(call.Ids.Length <= maxRows);
            Assert.Equal(expected[c].Positions.Select(p => ids[p]), call.Ids);
            Assert.Equal(expected[c].Positions, Enumerable.Range(0, call.Ids.Length).Select(r => plan.PositionOf(call, r)));
        }
    }

    [Theory]
    [InlineData(1)] // rows of one value take their own loop
    [InlineData(3)]
    [InlineData(64)]
    public void Gather_then_scatter_puts_every_row_back_where_it_was(int dim)
    {
        var rng = new Random(7);
        long[] ids = [.. Enumerable.Range(0, 500).Select(_ => rng.NextInt64())];
        float[] values = [.. Enumerable.Range(0, ids.Length * dim).Select(_ => rng.NextSingle())];
        var back = new float[values.Length];
        using var plan = ShardPlan.Of(ids, 7, 50);
        foreach (var call in plan.Calls)
        {
            var part = new float[call.Ids.Length * dim];
            plan.Gather<float>(call, values, part, dim);
            for (int r = 0; r < call.Ids.Length; r++)
            {
                Assert.Equal(values.AsSpan(plan.PositionOf(call, r) * dim, dim).ToArray(), part.AsSpan(r * dim, dim).ToArray());
            }

            plan.Scatter<float>(call, part, back, dim);
        }

        Assert.Equal(values, back);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardPlan.Of([1L], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardPlan.Of([1L], 4, 0));
    }
}
