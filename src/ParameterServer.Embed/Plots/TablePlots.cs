using System.Globalization;
using ParameterServer.Client.Analysis;
using ScottPlot;

namespace ParameterServer.Embed.Plots;

/// <summary>
/// Pictures of a table's rows: the 2-D PCA map (<c>embed plot pca</c>) and the heatmap of some rows
/// (<c>embed plot heatmap</c>), as PNG files drawn with ScottPlot.
/// </summary>
internal static class TablePlots
{
    /// <summary>Default sizes in pixels.</summary>
    public const int PcaWidth = 1200, PcaHeight = 900, HeatmapWidth = 1200, HeatmapHeight = 800;

    /// <summary>Most points drawn in a PCA map; larger tables are thinned evenly (every k-th row), the labelled rows always drawn.</summary>
    public const int MaxPoints = 200_000;

    /// <summary>Labels longer than this are cut, with an ellipsis.</summary>
    public const int MaxLabelLength = 36;

    /// <summary>The PCA map: every row as a small point, the labelled rows marked and named; axes give each component's share of the variance.</summary>
    public static Plot Pca(PcaMap map, int width = PcaWidth, int height = PcaHeight)
    {
        ArgumentNullException.ThrowIfNull(map);
        var plot = NewPlot();
        int stride = (int)Math.Max(1, (map.X.Length + MaxPoints - 1) / MaxPoints);
        var xs = new List<double>(map.X.Length / stride + 1);
        var ys = new List<double>(xs.Capacity);
        for (int i = 0; i < map.X.Length; i += stride)
        {
            xs.Add(map.X[i]);
            ys.Add(map.Y[i]);
        }

        var all = plot.Add.Markers(xs.ToArray(), ys.ToArray(), MarkerShape.FilledCircle, 3, Colors.C0.WithAlpha(0.35));
        all.LegendText = stride == 1 ? $"{xs.Count:N0} rows" : $"{xs.Count:N0} of {map.X.Length:N0} rows (every {stride})";
        int n = map.Labelled.Ids.Length;
        if (n > 0)
        {
            double[] lx = [.. map.LabelledX.Select(v => (double)v)], ly = [.. map.LabelledY.Select(v => (double)v)];
            var marked = plot.Add.Markers(lx, ly, MarkerShape.FilledCircle, 7, Colors.C3);
            // Margins first: the label placement measures the final layout.
            plot.Axes.Margins(left: 0.03, right: 0.18, bottom: 0.04, top: 0.04);
            int left = LabelPlacer.Place(plot, lx, ly, [.. Enumerable.Range(0, n).Select(r => Shorten(map.Labelled.Name(r)))], width, height);
            marked.LegendText = left == 0 ? $"{n} most updated rows" : $"{n} most updated rows ({left} unnamed: no room beside them)";
        }

        // Room on the right for the names of the rightmost points.
        if (n == 0)
        {
            plot.Axes.Margins(left: 0.03, right: 0.03, bottom: 0.04, top: 0.04);
        }

        plot.Axes.Bottom.Label.Text = string.Create(CultureInfo.InvariantCulture, $"PC1 ({map.Basis.Explained(0):P1} of variance)");
        plot.Axes.Left.Label.Text = string.Create(CultureInfo.InvariantCulture, $"PC2 ({map.Basis.Explained(1):P1} of variance)");
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{map.Table}: {map.Rows:N0} rows of dim {map.Dim}; PC1 {map.Basis.Explained(0):P1}, PC2 {map.Basis.Explained(1):P1} of the variance"));
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>The heatmap of <paramref name="rows"/>: one line a row (named by label or id, first row on top), one column a component, a diverging colour scale centred on 0 with its bar.</summary>
    public static Plot Heatmap(string table, SelectedRows rows, RowOrder order)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int n = rows.Ids.Length, d = rows.Dim;
        if (n == 0)
        {
            throw new InvalidOperationException($"Table {table} holds no rows: there is nothing to draw.");
        }

        var values = new double[n, d];
        double extreme = 0;
        for (int r = 0; r < n; r++)
        {
            var row = rows.Row(r);
            for (int j = 0; j < d; j++)
            {
                values[r, j] = row[j];
                extreme = Math.Max(extreme, Math.Abs(row[j]));
            }
        }

        var plot = NewPlot();
        var heat = plot.Add.Heatmap(values);
        heat.Colormap = new ScottPlot.Colormaps.Balance();
        heat.Rectangle = new CoordinateRect(0, d, 0, n);
        heat.ManualRange = new ScottPlot.Range(-Math.Max(extreme, 1e-12), Math.Max(extreme, 1e-12));
        var bar = plot.Add.ColorBar(heat);
        bar.Label = "value";
        // Row r fills y in [n − r − 1, n − r]: the first row on top.
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, n).Select(r => n - r - 0.5)], [.. Enumerable.Range(0, n).Select(r => Shorten(rows.Name(r)))]);
        int step = Math.Max(1, (int)Math.Ceiling(d / 16.0));
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, d).Where(j => j % step == 0).Select(j => j + 0.5)], [.. Enumerable.Range(0, d).Where(j => j % step == 0).Select(j => j.ToString(CultureInfo.InvariantCulture))]);
        plot.Axes.Bottom.Label.Text = "component";
        plot.Axes.SetLimits(0, d, 0, n);
        string which = order == RowOrder.Id ? $"the {n} rows with the lowest ids" : $"the {n} most updated rows";
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{table}: {which}, {d} values each"));
        return plot;
    }

    /// <summary>Writes <paramref name="plot"/> as a PNG; a file the system refuses is an <see cref="ArgumentException"/> naming it.</summary>
    public static void Save(Plot plot, string path, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(plot);
        CheckSize(width, height);
        try
        {
            plot.SavePng(path, width, height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"Cannot write the plot to {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Fails before any table is read when <paramref name="path"/> cannot take the PNG: not a .png name, a missing
    /// folder, a folder of that name, or a place the process may not write (a new file is created there and removed).
    /// </summary>
    public static void CheckTarget(string path)
    {
        CurvePlot.CheckTarget(path);
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"Cannot write the plot to {path}: it is a folder.");
        }

        if (!File.Exists(path))
        {
            try
            {
                using (File.Create(path))
                {
                }

                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"Cannot write the plot to {path}: {e.Message}", e);
            }
        }
    }

    /// <summary>Plot sizes accepted: 100 to 10,000 pixels each way.</summary>
    public static void CheckSize(int width, int height)
    {
        if (width < 100 || height < 100 || width > 10_000 || height > 10_000)
        {
            throw new ArgumentException($"The plot size {width}x{height} must be between 100 and 10000 pixels each way.");
        }
    }

    private static Plot NewPlot()
    {
        var plot = new Plot();
        if (CurvePlot.SansFamily() is { } family)
        {
            plot.Font.Set(family);
        }

        return plot;
    }

    private static string Shorten(string label) => label.Length <= MaxLabelLength ? label : string.Concat(label.AsSpan(0, MaxLabelLength - 1), "…");
}
