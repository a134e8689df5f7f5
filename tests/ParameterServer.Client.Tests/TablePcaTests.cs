using ParameterServer.Abstractions;
using ParameterServer.Client.Analysis;

namespace ParameterServer.Client.Tests;

[Collection(ClusterCollection.Name)]
public sealed class TablePcaTests(ClusterFixture fixture)
{
    private const int Dim = 6;

    /// <summary>A table of correlated rows written with exact values; returns it with the rows by id.</summary>
    private async Task<(TableClient Table, Dictionary<long, float[]> Rows)> PlantedAsync(string name, int n)
    {
        var table = await fixture.Client.CreateTableAsync(new TableSpec { Name = name, Dim = Dim, Shards = 3 });
        var rng = new Random(4);
        var rows = new Dictionary<long, float[]>();
        for (int i = 0; i < n; i++)
        {
            // Scales 4, 2, 1, 0.5, ... on mixed axes, offset 0.5: a covariance with distinct leading eigenvalues.
            double[] z = [.. Enumerable.Range(0, Dim).Select(k => Normal(rng) * 4 / (1 << k))];
            rows[(i * 13) + 5] = [.. Enumerable.Range(0, Dim).Select(j => (float)(0.5 + z[j] + (0.5 * z[(j + 1) % Dim])))];
        }

        await table.WriteAsync(rows.Keys.ToArray(), rows.Values.SelectMany(r => r).ToArray());
        return (table, rows);
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    [Fact]
    public async Task The_map_matches_a_naive_pca_of_the_rows_and_names_the_most_updated()
    {
        var (table, rows) = await PlantedAsync("pca-planted", 1500);

        // Three rows get 3, 2 and 1 optimizer steps; the pushes move them, so the reference reads the rows back.
        long[] busy = [18, 5, 31];
        await fixture.Client.SetLabelsAsync(table, new Dictionary<long, string> { [18] = "eighteen", [5] = "five" });
        for (int round = 0; round < 3; round++)
        {
            long[] ids = [.. busy.Take(3 - round)];
            await table.PushAsync(ids, new float[ids.Length * Dim].Select((_, i) => 0.01f * ((i % Dim) + 1)).ToArray());
        }

        // The reference: a two-pass covariance of the rows read back, and power iteration with deflation.
        long[] all = [.. rows.Keys];
        var current = new float[all.Length * Dim];
        await table.PullAsync(all, current);
        var list = Enumerable.Range(0, all.Length).Select(i => current.AsSpan(i * Dim, Dim).ToArray()).ToList();
        var (mean, cov) = DenseReference.Covariance(list);
        var (values, vectors) = DenseReference.TopEigen(cov, 2);
        double trace = Enumerable.Range(0, Dim).Sum(j => cov[j, j]);

        var map = await TablePca.ComputeAsync(table, labelled: 2);

        Assert.Equal(all.Length, map.Rows);
        Assert.Equal(all.Length, map.X.Length);
        for (int i = 0; i < 2; i++)
        {
            Assert.True(DenseReference.AbsCosine(vectors[i], map.Basis.Components[i]) > 1 - 1e-9, $"component {i + 1}");
            Assert.Equal(values[i] / trace, map.Basis.Explained(i), 1e-9);
        }

        for (int j = 0; j < Dim; j++)
        {
            Assert.Equal(mean[j], map.Mean[j], 1e-6);
        }

        // Projections: centred, with the component's variance along each axis, uncorrelated.
        double mx = map.X.Average(x => (double)x), my = map.Y.Average(y => (double)y);
        Assert.Equal(0, mx, 1e-4);
        Assert.Equal(0, my, 1e-4);
        Assert.Equal(values[0], map.X.Sum(x => (x - mx) * (x - mx)) / (map.X.Length - 1), 3);
        Assert.Equal(values[1], map.Y.Sum(y => (y - my) * (y - my)) / (map.Y.Length - 1), 3);

        // The two most updated rows, most first, with their labels and their own projections.
        Assert.Equal([18L, 5], map.Labelled.Ids);
        Assert.Equal([3L, 2], map.Labelled.Steps);
        Assert.Equal(new[] { "eighteen", "five" }, map.Labelled.Labels.Select(l => l ?? "(none)"));
        for (int r = 0; r < 2; r++)
        {
            int at = Array.IndexOf(all, map.Labelled.Ids[r]);
            double px = Enumerable.Range(0, Dim).Sum(j => (current[(at * Dim) + j] - mean[j]) * map.Basis.Components[0][j]);
            Assert.Equal(px, map.LabelledX[r], 1e-4);
        }
    }

    [Fact]
    public async Task Heatmap_rows_are_the_lowest_ids_or_the_most_updated()
    {
        var (table, rows) = await PlantedAsync("heat-rows", 200);
        var first = await RowSelection.SelectAsync(table, 4, RowOrder.Id);
        long[] lowest = [.. rows.Keys.Order().Take(4)];
        Assert.Equal(lowest, first.Ids);
        for (int r = 0; r < 4; r++)
        {
            Assert.Equal(rows[lowest[r]], first.Row(r).ToArray());
            Assert.Equal($"id {lowest[r]}", first.Name(r));
        }

        await table.PushAsync(new long[] { 70, 200 }, new float[2 * Dim]);
        await table.PushAsync(new long[] { 200 }, new float[Dim]);
        var busiest = await RowSelection.SelectAsync(table, 3, RowOrder.Updates);
        // 200 (2 steps), 70 (1), then the lowest id of the rows never stepped.
        Assert.Equal([200L, 70, lowest[0]], busiest.Ids);
        Assert.Equal([2L, 1, 0], busiest.Steps);

        var none = await RowSelection.SelectAsync(table, 0, RowOrder.Id);
        Assert.Empty(none.Ids);
    }

    [Fact]
    public async Task Bad_input_gets_clear_errors()
    {
        var unknown = await Assert.ThrowsAsync<KeyNotFoundException>(() => fixture.Client.OpenTableAsync("no-such-table"));
        Assert.Contains("Unknown table 'no-such-table'", unknown.Message, StringComparison.Ordinal);

        var (table, _) = await PlantedAsync("pca-bad", 10);
        var negative = await Assert.ThrowsAsync<ArgumentException>(() => TablePca.ComputeAsync(table, -1));
        Assert.Contains("0 or more", negative.Message, StringComparison.Ordinal);

        var one = await fixture.Client.CreateTableAsync(new TableSpec { Name = "pca-one-row", Dim = 3, Shards = 2 });
        await one.WriteAsync(new long[] { 1 }, new float[] { 1, 2, 3 });
        var few = await Assert.ThrowsAsync<InvalidOperationException>(() => TablePca.ComputeAsync(one, 5));
        Assert.Contains("holds 1 row; a PCA needs at least 2", few.Message, StringComparison.Ordinal);

        var bias = await fixture.Client.CreateTableAsync(new TableSpec { Name = "pca-dim1", Dim = 1, Shards = 2 });
        var flat = await Assert.ThrowsAsync<ArgumentException>(() => TablePca.ComputeAsync(bias, 5));
        Assert.Contains("dim 2 or more", flat.Message, StringComparison.Ordinal);
    }
}
