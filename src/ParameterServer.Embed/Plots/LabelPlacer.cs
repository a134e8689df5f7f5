using ScottPlot;
using SkiaSharp;

namespace ParameterServer.Embed.Plots;

/// <summary>
/// Names points without names running into each other: each label, in the order given (most important first), goes
/// to the first of several places around its point (right, left, above, below; then farther out) where its box
/// overlaps no label placed before it and no other named point, inside the data area; a label with no such place is
/// left out (and counted), since overlapping names are unreadable. Works in pixels of the final figure size.
/// </summary>
internal static class LabelPlacer
{
    private const float FontSize = 11, Gap = 5, Pad = 1;

    // (dx, dy) of the box's anchor from the point, the alignment that anchor has; rings of growing distance.
    private static readonly (float Dx, float Dy, Alignment Align)[] Places =
    [
        (Gap, -1, Alignment.LowerLeft), (Gap, 1, Alignment.UpperLeft), (-Gap, -1, Alignment.LowerRight), (-Gap, 1, Alignment.UpperRight),
        (0, -Gap, Alignment.LowerCenter), (0, Gap, Alignment.UpperCenter),
        (3 * Gap, -3 * Gap, Alignment.LowerLeft), (3 * Gap, 3 * Gap, Alignment.UpperLeft), (-3 * Gap, -3 * Gap, Alignment.LowerRight), (-3 * Gap, 3 * Gap, Alignment.UpperRight),
    ];

    /// <summary>Adds the labels that fit to <paramref name="plot"/> and returns how many were left out.</summary>
    public static int Place(Plot plot, IReadOnlyList<double> x, IReadOnlyList<double> y, IReadOnlyList<string> labels, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(plot);
        // One render at the final size lays out the axes, so data coordinates have their final pixels.
        plot.RenderInMemory(width, height);
        var points = Enumerable.Range(0, labels.Count).Select(i => plot.GetPixel(new Coordinates(x[i], y[i]))).ToArray();
        using var typeface = CurvePlot.SansFamily() is { } family ? SKTypeface.FromFamilyName(family) : SKTypeface.Default;
        using var font = new SKFont(typeface, FontSize);
        var placed = new List<SKRect>();
        // Inside the data area: the plot clips what crosses its edge.
        var data = plot.LastRender.DataRect;
        var figure = new SKRect(data.Left, data.Top, data.Right, data.Bottom);
        int left = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            float w = font.MeasureText(labels[i]), h = FontSize + 3;
            bool done = false;
            foreach (var (dx, dy, align) in Places)
            {
                var box = Box(points[i].X + dx, points[i].Y + dy, w, h, align);
                if (!figure.Contains(box) || placed.Any(p => p.IntersectsWith(box)) || points.Where((_, j) => j != i).Any(p => box.Contains(p.X, p.Y)))
                {
                    continue;
                }

                var text = plot.Add.Text(labels[i], x[i], y[i]);
                text.LabelFontSize = FontSize;
                text.LabelFontColor = Colors.Black;
                text.Alignment = align;
                text.OffsetX = dx;
                text.OffsetY = dy;
                placed.Add(box);
                done = true;
                break;
            }

            left += done ? 0 : 1;
        }

        return left;
    }

    /// <summary>The pixel box of a label of <paramref name="w"/> × <paramref name="h"/> anchored at (ax, ay) by <paramref name="align"/>.</summary>
    internal static SKRect Box(float ax, float ay, float w, float h, Alignment align)
    {
        float left = align switch
        {
            Alignment.LowerLeft or Alignment.UpperLeft or Alignment.MiddleLeft => ax,
            Alignment.LowerRight or Alignment.UpperRight or Alignment.MiddleRight => ax - w,
            _ => ax - (w / 2),
        };
        float top = align switch
        {
            Alignment.UpperLeft or Alignment.UpperRight or Alignment.UpperCenter => ay,
            Alignment.LowerLeft or Alignment.LowerRight or Alignment.LowerCenter => ay - h,
            _ => ay - (h / 2),
        };
        return new SKRect(left - Pad, top - Pad, left + w + Pad, top + h + Pad);
    }
}
