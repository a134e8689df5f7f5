using System.Buffers.Binary;
using ParameterServer.Client.Analysis;
using ParameterServer.Core.Analysis;
using ParameterServer.Embed.Commands;
using ParameterServer.Embed.Plots;

namespace ParameterServer.Embed.Tests;

public sealed class TablePlotTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ps-table-plots-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (int Width, int Height) PngSize(string path)
    {
        byte[] png = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    private static SelectedRows Rows(int n, int dim)
    {
        var rng = new Random(n);
        return new SelectedRows(
            [.. Enumerable.Range(1, n).Select(i => (long)i)],
            [.. Enumerable.Range(1, n).Select(i => i % 3 == 0 ? null : $"Movie number {i} with a title longer than the plot shows (1999)")],
            [.. Enumerable.Range(1, n).Select(i => (long)(100 - i))],
            [.. Enumerable.Range(0, n * dim).Select(_ => (float)(rng.NextDouble() - 0.5))],
            dim);
    }

    private static PcaMap Map(int rows, int labelled)
    {
        var rng = new Random(rows);
        float[] x = [.. Enumerable.Range(0, rows).Select(_ => (float)(3 * (rng.NextDouble() - 0.5)))];
        float[] y = [.. Enumerable.Range(0, rows).Select(_ => (float)(rng.NextDouble() - 0.5))];
        var basis = new PcaBasis([[1, 0, 0], [0, 1, 0]], [0.75, 0.08], 0.9);
        return new PcaMap("ratings.items", rows, 3, [0, 0, 0], basis, x, y, Rows(labelled, 3), x[..labelled], y[..labelled]);
    }

    [Theory]
    [InlineData(5_000, 30, 1200, 900)]
    [InlineData(2, 0, 300, 200)]
    public void The_pca_map_is_a_png_of_the_asked_size(int rows, int labelled, int width, int height)
    {
        string path = Path.Combine(_folder, "map.png");
        TablePlots.Save(TablePlots.Pca(Map(rows, labelled)), path, width, height);
        Assert.Equal((width, height), PngSize(path));
        Assert.InRange(new FileInfo(path).Length, 5_000, width * height * 4);
    }

    [Fact]
    public void A_table_larger_than_the_point_budget_is_thinned_evenly()
    {
        var plot = TablePlots.Pca(Map(TablePlots.MaxPoints + 10, 3));
        var points = plot.GetPlottables().OfType<ScottPlot.Plottables.Markers>().First();
        Assert.Equal((TablePlots.MaxPoints + 10 + 1) / 2, points.Data.GetScatterPoints().Count);
    }

    [Theory]
    [InlineData(20, 64)]
    [InlineData(1, 3)]
    public void The_heatmap_is_a_png_of_the_asked_size(int rows, int dim)
    {
        string path = Path.Combine(_folder, "heat.png");
        TablePlots.Save(TablePlots.Heatmap("ratings.items", Rows(rows, dim), RowOrder.Id), path, 1000, 700);
        Assert.Equal((1000, 700), PngSize(path));
        Assert.InRange(new FileInfo(path).Length, 5_000, 1000 * 700 * 4);
    }

    [Fact]
    public void A_heatmap_of_no_rows_is_a_clear_error()
    {
        var e = Assert.Throws<InvalidOperationException>(() => TablePlots.Heatmap("empty", Rows(0, 4), RowOrder.Id));
        Assert.Contains("holds no rows", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unwritable_targets_are_refused_before_any_table_is_read()
    {
        string folder = Path.Combine(_folder, "taken.png");
        Directory.CreateDirectory(folder);
        Assert.Contains("is a folder", Assert.Throws<ArgumentException>(() => TablePlots.CheckTarget(folder)).Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<ArgumentException>(() => TablePlots.CheckTarget(Path.Combine(_folder, "no", "map.png"))).Message, StringComparison.Ordinal);
        Assert.Contains("must end in .png", Assert.Throws<ArgumentException>(() => TablePlots.CheckTarget(Path.Combine(_folder, "map.jpg"))).Message, StringComparison.Ordinal);

        // A writable target passes and leaves nothing behind.
        string fine = Path.Combine(_folder, "map.png");
        TablePlots.CheckTarget(fine);
        Assert.False(File.Exists(fine));

        var e = Assert.Throws<ArgumentException>(() => TablePlots.Save(TablePlots.Pca(Map(10, 2)), folder, 400, 300));
        Assert.StartsWith($"Cannot write the plot to {folder}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--labels", -1, 0, 1000, "--labels must be between 0 and 1000; got -1.")]
    [InlineData("--rows", 0, 1, 500, "--rows must be between 1 and 500; got 0.")]
    [InlineData("--rows", 501, 1, 500, "--rows must be between 1 and 500; got 501.")]
    public void Counts_out_of_range_name_the_option(string option, int value, int min, int max, string expected) =>
        Assert.Equal(expected, Assert.Throws<ArgumentException>(() => PlotTableCommands.CheckCount(option, value, min, max)).Message);

    [Theory]
    [InlineData("plot", "pca", "--table", "ratings.items", "--labels", "-1")]
    [InlineData("plot", "heatmap", "--table", "ratings.items", "--rows", "0")]
    [InlineData("plot", "heatmap", "--table", "ratings.items", "--by", "colour")]
    [InlineData("plot", "pca", "--table", "ratings.items", "--width", "50")]
    public async Task The_commands_refuse_bad_options_with_exit_code_2_before_connecting(params string[] args)
    {
        // No --cluster: reaching the connection would start an embedded silo; the checks come first and stop the command.
        string path = Path.Combine(_folder, "never.png");
        Assert.Equal(2, await Program.Main([.. args, "--out", path]));
        Assert.False(File.Exists(path));
    }
}
