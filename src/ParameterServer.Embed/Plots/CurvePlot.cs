using System.Globalization;
using ParameterServer.Client.Training;
using ScottPlot;
using SkiaSharp;

namespace ParameterServer.Embed.Plots;

/// <summary>
/// The training curve of a job, the best epoch marked: training and validation in the same unit on one axis (RMSE
/// for rating and regression models, log loss for binary tasks), so the gap between them reads true; a ranking model
/// (bpr), whose loss and validation NDCG are different quantities, gets its loss on the left axis and NDCG on the right. Drawn from a <see cref="TrainingReport"/>, so <c>embed train --plot</c> and <c>embed plot curve</c>
/// (from a <c>--report</c> file) draw the same picture.
/// </summary>
internal static class CurvePlot
{
    /// <summary>Default size of the PNG in pixels.</summary>
    public const int DefaultWidth = 900, DefaultHeight = 500;

    private static readonly string[] SansFamilies = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Open Sans", "Arial", "Helvetica", "FreeSans"];

    /// <summary>Builds the plot of <paramref name="report"/>'s epochs.</summary>
    /// <exception cref="ArgumentException">The report has no epochs.</exception>
    public static Plot Create(TrainingReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Epochs is not { Count: > 0 } epochs)
        {
            throw new ArgumentException("The training report has no epochs: there is no curve to plot.");
        }

        double[] x = epochs.Select(e => (double)e.Epoch).ToArray();
        var plot = new Plot();
        if (SansFamily() is { } family)
        {
            plot.Font.Set(family);
        }

        string headline;
        if (epochs[0].ValidationLogLoss is not null)
        {
            // Binary task: the training loss is the mean log loss already.
            Series(plot, x, epochs.Select(e => e.TrainLoss), "train log loss", Colors.C0, MarkerShape.FilledCircle, plot.Axes.Left);
            Series(plot, x, epochs.Select(e => e.ValidationLogLoss ?? double.NaN), "validation log loss", Colors.C1, MarkerShape.FilledSquare, plot.Axes.Left);
            Shared(plot.Axes.Left, "log loss");
            headline = string.Create(CultureInfo.InvariantCulture, $"validation log loss {report.ValidationLogLoss:F4}");
        }
        else if (epochs[0].ValidationNdcg is not null)
        {
            Series(plot, x, epochs.Select(e => e.TrainLoss), "train BPR loss", Colors.C0, MarkerShape.FilledCircle, plot.Axes.Left);
            Series(plot, x, epochs.Select(e => e.ValidationNdcg ?? double.NaN), "validation NDCG@k", Colors.C1, MarkerShape.FilledSquare, plot.Axes.Right);
            headline = string.Create(CultureInfo.InvariantCulture, $"validation NDCG@k {report.ValidationNdcg:F4}");
        }
        else
        {
            // The training loss is a mean squared error: its square root is the RMSE, the unit of the validation figure.
            Series(plot, x, epochs.Select(e => Math.Sqrt(e.TrainLoss)), "train RMSE", Colors.C0, MarkerShape.FilledCircle, plot.Axes.Left);
            Series(plot, x, epochs.Select(e => e.ValidationRmse), "validation RMSE", Colors.C1, MarkerShape.FilledSquare, plot.Axes.Left);
            Shared(plot.Axes.Left, "RMSE");
            headline = string.Create(CultureInfo.InvariantCulture, $"validation RMSE {report.ValidationRmse:F4}");
        }

        if (report.BestEpoch > 0)
        {
            var best = plot.Add.VerticalLine(report.BestEpoch, 1, Colors.Gray);
            best.LinePattern = LinePattern.Dashed;
            best.LegendText = "best epoch";
        }

        plot.Axes.Bottom.Label.Text = "epoch";
        // Epochs are whole numbers: no tick at 1.5.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{report.Model} (dim {report.Dim}): best epoch {report.BestEpoch} of {epochs.Count}, {headline}"));
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    // Two series on one axis: the legend tells them apart, the axis says the unit, in the text colour.
    private static void Shared(IYAxis axis, string unit)
    {
        axis.Label.Text = unit;
        axis.Label.ForeColor = Colors.Black;
    }

    private static void Series(Plot plot, double[] x, IEnumerable<double> y, string label, Color color, MarkerShape marker, IYAxis axis)
    {
        var line = plot.Add.Scatter(x, y.ToArray(), color);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = 8;
        line.MarkerShape = marker;
        line.Axes.YAxis = axis;
        axis.Label.Text = label;
        axis.Label.ForeColor = color;
    }

    /// <summary>
    /// Whether Skia sees any font. The NoDependencies Skia build ScottPlot ships reads no fontconfig: it scans
    /// /usr/share/fonts. Without a font there the PNG still renders, but with no text (Skia then reports one nameless family of no glyphs).
    /// </summary>
    public static bool HasFonts => SKFontManager.Default.FontFamilies.Any(f => f.Length > 0) && SKTypeface.Default.GlyphCount > 0;

    /// <summary>A sans-serif family Skia has, or null. Skia's own default is whichever family it found first (on Debian, DejaVu Serif).</summary>
    internal static string? SansFamily()
    {
        var families = SKFontManager.Default.FontFamilies.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return SansFamilies.FirstOrDefault(families.Contains);
    }

    /// <summary>Writes the curve of <paramref name="report"/> as a PNG of <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    /// <exception cref="ArgumentException">The report has no epochs, the size is out of range or <paramref name="path"/> cannot take a PNG.</exception>
    public static void SavePng(TrainingReport report, string path, int width = DefaultWidth, int height = DefaultHeight)
    {
        if (width < 100 || height < 100 || width > 10_000 || height > 10_000)
        {
            throw new ArgumentException($"The plot size {width}x{height} must be between 100 and 10000 pixels each way.");
        }

        var plot = Create(report);
        CheckTarget(path);
        plot.SavePng(path, width, height);
    }

    /// <summary>Fails early, before a long job, when <paramref name="path"/> cannot take a PNG.</summary>
    /// <exception cref="ArgumentException">Not a .png name, or its folder does not exist.</exception>
    public static void CheckTarget(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"The plot file {path} must end in .png (the curve is written as PNG).");
        }

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new ArgumentException($"Cannot write the plot to {path}: the folder {folder} does not exist.");
        }
    }
}
