using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Grains.Tests;

/// <summary>Whole-row access on the real in-process cluster: writes set exact values, scans return every row once.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RowAccessTests(ClusterFixture fixture)
{
    private Task<TableClient> Create(string stem, int dim, int shards) => fixture.Client.CreateTableAsync(new TableSpec
    {
        Name = ClusterFixture.UniqueName(stem),
        Dim = dim,
        Shards = shards,
        Optimizer = OptimizerKind.Adam,
        LearningRate = 0.01f,
    });

    private static (long[] Ids, float[] Values) Rows(int n, int dim, int seed)
    {
        var rng = new Random(seed);
        var ids = new HashSet<long>();
        while (ids.Count < n)
        {
            ids.Add(rng.NextInt64(-1_000_000_000_000, 1_000_000_000_000));
        }

        return ([.. ids], Enumerable.Range(0, n * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray());
    }

    private static async Task<Dictionary<long, (float[] Values, string? Label, long Steps)>> ScanAll(TableClient table, int pageRows = 0)
    {
        var seen = new Dictionary<long, (float[], string?, long)>();
        await foreach (var page in table.ScanAsync(pageRows))
        {
            for (int i = 0; i < page.Ids.Length; i++)
            {
                Assert.True(seen.TryAdd(page.Ids[i], (page.Values.Values.Slice(i * table.Dim, table.Dim).ToArray(), page.Labels[i], page.Steps[i])), $"row {page.Ids[i]} scanned twice");
            }
        }

        return seen;
    }

    [Theory]
    [InlineData(1, 1, 0)]
    [InlineData(7, 8, 0)]
    [InlineData(33, 5, 3)]
    public async Task Written_rows_scan_back_exactly_once_with_their_values(int dim, int shards, int pageRows)
    {
        var table = await Create("rows", dim, shards);
        var (ids, values) = Rows(500, dim, dim + shards);
        await table.WriteAsync(ids, values);
        var scanned = await ScanAll(table, pageRows);
        Assert.Equal(ids.Length, scanned.Count);
        for (int i = 0; i < ids.Length; i++)
        {
            Assert.Equal(values.AsSpan(i * dim, dim).ToArray(), scanned[ids[i]].Values);
            Assert.Equal(0, scanned[ids[i]].Steps);
        }

        // Pulls see the written values, not initial ones.
        var pulled = new float[ids.Length * dim];
        await table.PullAsync(ids, pulled);
        Assert.Equal(values, pulled);
    }

    [Fact]
    public async Task A_written_row_restarts_its_optimizer_state()
    {
        // Adam's first step moves every component by lr (bias-corrected m/√v = ±1), whatever came before it. A row that
        // kept its old state would move by a different amount.
        var table = await Create("state", 4, 2);
        long[] ids = [11, 12];
        for (int i = 0; i < 3; i++)
        {
            await table.PushAsync(ids, new float[] { 1, 2, 3, 4, -1, -2, -3, -4 });
        }

        float[] values = [0.5f, 0.5f, 0.5f, 0.5f, -0.5f, -0.5f, -0.5f, -0.5f];
        await table.WriteAsync(ids, values);
        await table.PushAsync(ids, new float[] { 5, -5, 5, -5, 1, 1, 1, 1 });
        var after = new float[8];
        await table.PullAsync(ids, after);
        float[] expected = [0.49f, 0.51f, 0.49f, 0.51f, -0.51f, -0.51f, -0.51f, -0.51f];
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(expected[i], after[i], 1e-4f);
        }
    }

    [Fact]
    public async Task Labels_and_steps_travel_with_scanned_rows()
    {
        var table = await Create("labels", 3, 4);
        long[] ids = [1, 2, 3];
        await table.PushAsync(ids, new float[9]);
        await table.PushAsync(new long[] { 1 }, new float[3]);
        await fixture.Client.SetLabelsAsync(table, new Dictionary<long, string> { [1] = "one", [3] = "three" });
        var scanned = await ScanAll(table);
        Assert.Equal(("one", 2L), (scanned[1].Label, scanned[1].Steps));
        Assert.Equal(((string?)null, 1L), (scanned[2].Label, scanned[2].Steps));
        Assert.Equal(("three", 1L), (scanned[3].Label, scanned[3].Steps));
    }

    [Theory]
    [InlineData("nan")]
    [InlineData("duplicate")]
    [InlineData("length")]
    public async Task A_bad_write_changes_no_row_on_any_shard(string kind)
    {
        var table = await Create("badwrite", 4, 4);
        var (ids, values) = Rows(64, 4, 9);
        await table.WriteAsync(ids, values);
        var bad = (long[])ids.Clone();
        var badValues = values.Select(v => v + 1).ToArray();
        string fragment;
        switch (kind)
        {
            case "nan":
                badValues[40 * 4 + 2] = float.NaN;
                fragment = $"value of row id {ids[40]} (position 40, component 2) is NaN";
                break;
            case "duplicate":
                bad[50] = bad[3];
                fragment = $"row id {ids[3]} appears more than once";
                break;
            default:
                badValues = badValues[..^1];
                fragment = "255 values for 64 rows of dim 4";
                break;
        }

        var e = await Assert.ThrowsAsync<ArgumentException>(() => table.WriteAsync(bad, badValues));
        Assert.Contains($"Write to table '{table.Spec.Name}' refused", e.Message);
        Assert.Contains(fragment, e.Message);
        var after = new float[values.Length];
        await table.PullAsync(ids, after);
        Assert.Equal(values, after);
    }

    [Fact]
    public async Task A_shard_refuses_a_write_of_the_wrong_dim_and_changes_nothing()
    {
        var table = await Create("dimwrite", 4, 1);
        await table.WriteAsync(new long[] { 5 }, new float[] { 1, 2, 3, 4 });
        var shard = fixture.Grains.GetGrain<IShardGrain>(ShardKey.Of(table.Spec.Name, 0));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => shard.Write(new WriteRequest([5L], RowBlock.From(new float[] { 9, 9, 9 }, 1, 3))));
        Assert.Contains($"Write to table '{table.Spec.Name}' shard 0 refused: 1 rows of dim 3", e.Message);
        var after = new float[4];
        await table.PullAsync(new long[] { 5 }, after);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, after);
    }
}
