using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;


namespace ParameterServer.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ShardGrainTests(ClusterFixture fixture)
{
    private static TableSpec Spec(string name, int dim, OptimizerKind opt = OptimizerKind.Adam, int shards = 4, long seed = 9) => new()
    {
        Name = name,
        Dim = dim,
        Shards = shards,
        Seed = seed,
        InitScale = 0.1f,
        Optimizer = opt,
        LearningRate = opt == OptimizerKind.Sgd ? 0.05f : 0.01f,
        WeightDecay = 0.01f,
    };

    private static long[] Ids(int n, int seed)
    {
        var rng = new Random(seed);
        var set = new HashSet<long>();
        while (set.Count < n)
        {
            set.Add(rng.NextInt64(-1_000_000_000_000, 1_000_000_000_000));
        }

        return [.. set];
    }

    private static async Task<float[]> Pull(TableClient t, long[] ids)
    {
        var dest = new float[ids.Length * t.Dim];
        await t.PullAsync(ids, dest);
        return dest;
    }

    [Fact]
    public async Task Rows_are_created_lazily_with_values_seeded_by_table_seed_and_id()
    {
        var spec = Spec(ClusterFixture.UniqueName("lazy"), 13);
        var table = await fixture.Client.CreateTableAsync(spec);
        var ids = Ids(300, 1);
        var first = await Pull(table, ids);
        var again = await Pull(table, ids.Reverse().ToArray());

        var expected = new float[13];
        for (int i = 0; i < ids.Length; i++)
        {
            new RowInitializer(InitializerKind.Normal, 0.1f, 9).Fill(ids[i], expected);
            Assert.Equal(expected, first.AsSpan(i * 13, 13).ToArray());
            Assert.Equal(expected, again.AsSpan((ids.Length - 1 - i) * 13, 13).ToArray());
        }

        // Another table with the same seed but more shards starts every row the same.
        var other = await fixture.Client.CreateTableAsync(Spec(ClusterFixture.UniqueName("lazy2"), 13, shards: 7));
        Assert.Equal(first, await Pull(other, ids));
        var info = await fixture.Client.DescribeAsync(spec.Name);
        Assert.Equal(300, info.Rows);
        Assert.Equal(0, info.OptimizerSteps);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, 1)]
    [InlineData(OptimizerKind.Adagrad, 7)]
    [InlineData(OptimizerKind.Adam, 64)]
    public async Task Push_applies_the_optimizer_exactly_like_the_scalar_reference(OptimizerKind opt, int dim)
    {
        var spec = Spec(ClusterFixture.UniqueName("push"), dim, opt, shards: 5);
        var table = await fixture.Client.CreateTableAsync(spec);
        var reference = new ReferenceTable(dim, spec.RowInitializer, spec.OptimizerSettings);
        var ids = Ids(200, 2);
        var rng = new Random(3);
        for (int step = 0; step < 6; step++)
        {
            // Different subsets each step, so rows have different step counts (lazy Adam).
            var subset = ids.Where(_ => rng.NextDouble() < 0.6).ToArray();
            var grads = new float[subset.Length * dim];
            for (int i = 0; i < grads.Length; i++)
            {
                grads[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            await table.PushAsync(subset, grads);
            reference.Push(subset, grads);
        }

        var pulled = await Pull(table, ids);
        for (int i = 0; i < ids.Length; i++)
        {
            ScalarReference.AssertClose(reference.Row(ids[i]), pulled.AsSpan(i * dim, dim), 1e-4, $"row {ids[i]}");
        }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public async Task Push_with_a_non_finite_value_is_refused_whole_and_no_row_changes(float bad)
    {
        var table = await fixture.Client.CreateTableAsync(Spec(ClusterFixture.UniqueName("nan"), 8, shards: 1));
        var ids = Ids(50, 4);
        var before = await Pull(table, ids);
        var grads = Enumerable.Repeat(0.5f, ids.Length * 8).ToArray();
        grads[(37 * 8) + 3] = bad;

        var e = await Assert.ThrowsAsync<ArgumentException>(() => table.PushAsync(ids, grads));
        Assert.Contains("NaN and infinity are not accepted", e.Message);
        Assert.Contains(ids[37].ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Equal(before, await Pull(table, ids));
        Assert.Equal(0, (await fixture.Client.DescribeAsync(table.Spec.Name)).OptimizerSteps);
    }

    [Fact]
    public async Task Push_of_the_wrong_length_or_dim_is_refused_and_no_row_changes()
    {
        var table = await fixture.Client.CreateTableAsync(Spec(ClusterFixture.UniqueName("len"), 4, shards: 1));
        var ids = Ids(10, 5);
        var before = await Pull(table, ids);
        var shard = fixture.Cluster.Client.GetGrain<IShardGrain>(ShardKey.Of(table.Spec.Name, 0));

        var wrongDim = new PushRequest(ids, RowBlock.From(new float[ids.Length * 5], ids.Length, 5));
        var e1 = await Assert.ThrowsAsync<ArgumentException>(() => shard.Push(wrongDim));
        Assert.Contains("dim 4", e1.Message);

        var tooFew = new PushRequest(ids, RowBlock.From(new float[(ids.Length * 4) - 1], ids.Length, 4));
        var e2 = await Assert.ThrowsAsync<ArgumentException>(() => shard.Push(tooFew));
        Assert.Contains("No row was changed", e2.Message);

        var duplicate = new PushRequest([ids[0], ids[1], ids[0]], RowBlock.From(new float[12], 3, 4));
        var e3 = await Assert.ThrowsAsync<ArgumentException>(() => shard.Push(duplicate));
        Assert.Contains("more than once", e3.Message);

        await Assert.ThrowsAsync<ArgumentException>(() => table.PushAsync(ids, new float[3]));
        Assert.Equal(before, await Pull(table, ids));
    }

    [Fact]
    public async Task Unknown_table_and_conflicting_create_get_clear_errors()
    {
        string name = ClusterFixture.UniqueName("conflict");
        var shard = fixture.Cluster.Client.GetGrain<IShardGrain>(ShardKey.Of(name, 0));
        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => shard.Pull(new PullRequest([1, 2])));
        Assert.Contains($"Unknown table '{name}'", e.Message);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => fixture.Client.OpenTableAsync(name));

        var table = await fixture.Client.CreateTableAsync(Spec(name, 8));
        var before = await Pull(table, [1, 2, 3]);
        var again = await fixture.Client.CreateTableAsync(Spec(name, 8));
        Assert.Equal(8, again.Dim);
        var conflict = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name, 16)));
        Assert.Contains("already exists and it has dim 8, not 16", conflict.Message);
        Assert.Equal(before, await Pull(table, [1, 2, 3]));
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("bad name", "illegal characters")]
    [InlineData("x/y", "illegal characters")]
    public async Task Invalid_table_names_are_refused(string name, string message)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name, 4)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task Invalid_specs_are_refused_naming_the_field()
    {
        string name = ClusterFixture.UniqueName("spec");
        Assert.Contains("dim 0", (await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name, 0)))).Message);
        Assert.Contains("shard count 0", (await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name, 4) with { Shards = 0 }))).Message);
        Assert.Contains("Learning rate -1", (await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name, 4) with { LearningRate = -1 }))).Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    [Fact]
    public async Task Drop_removes_rows_and_list_describe_report_tables()
    {
        var spec = Spec(ClusterFixture.UniqueName("drop"), 3, shards: 3);
        var table = await fixture.Client.CreateTableAsync(spec);
        await Pull(table, Ids(40, 6));
        Assert.Contains(spec.Name, await fixture.Client.ListTablesAsync());
        var info = await fixture.Client.DescribeAsync(spec.Name);
        Assert.Equal(40, info.Rows);
        Assert.Equal(3, info.Shards.Length);
        Assert.True(info.Bytes >= 40 * 3 * 4 * 3);

        Assert.True(await fixture.Client.DropAsync(spec.Name));
        Assert.DoesNotContain(spec.Name, await fixture.Client.ListTablesAsync());
        Assert.False(await fixture.Client.DropAsync(spec.Name));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => fixture.Client.DescribeAsync(spec.Name));
    }

    [Fact]
    public async Task Snapshot_and_restore_bring_back_the_rows()
    {
        var spec = Spec(ClusterFixture.UniqueName("snap"), 6, shards: 2);
        var table = await fixture.Client.CreateTableAsync(spec);
        var ids = Ids(20, 7);
        var grads = Enumerable.Repeat(0.3f, ids.Length * 6).ToArray();
        await table.PushAsync(ids, grads);
        var atSnapshot = await Pull(table, ids);
        var grain = fixture.Cluster.Client.GetGrain<ITableGrain>(spec.Name);
        // Before any snapshot, going back names every shard as having none, and changes nothing.
        Assert.Equal(new[] { 0, 1 }, await grain.RestoreSnapshot());
        Assert.Equal(atSnapshot, await Pull(table, ids));
        await grain.Snapshot();
        await table.PushAsync(ids, grads);
        Assert.NotEqual(atSnapshot, await Pull(table, ids));
        Assert.Empty(await grain.RestoreSnapshot());
        Assert.Equal(atSnapshot, await Pull(table, ids));
    }
}
