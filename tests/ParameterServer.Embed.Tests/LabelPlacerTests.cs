using ParameterServer.Embed.Plots;
using ScottPlot;

namespace ParameterServer.Embed.Tests;

/// <summary>Labels go beside their points without running into each other, or are left out and counted.</summary>
public sealed class LabelPlacerTests
{
    private static Plot Points(double[] x, double[] y)
    {
        var plot = new Plot();
        plot.Add.Markers(x, y);
        return plot;
    }

    [Fact]
    public void Distant_points_all_get_their_names()
    {
        double[] x = [0, 10, 0, 10], y = [0, 0, 10, 10];
        var plot = Points(x, y);
        Assert.Equal(0, LabelPlacer.Place(plot, x, y, ["a", "b", "c", "d"], 800, 600));
        Assert.Equal(4, plot.GetPlottables<ScottPlot.Plottables.Text>().Count());
    }

    [Fact]
    public void Crowded_points_name_what_fits_and_count_the_rest()
    {
        // 30 points within a few pixels of each other, with long names: not all can be named.
        double[] x = [.. Enumerable.Range(0, 30).Select(i => 5 + (i * 0.001))], y = [.. Enumerable.Range(0, 30).Select(i => 5 + (i % 3 * 0.001))];
        var plot = Points([0, 10, .. x], [0, 10, .. y]);
        int left = LabelPlacer.Place(plot, x, y, [.. Enumerable.Range(0, 30).Select(i => $"a rather long name {i}")], 800, 600);
        int named = plot.GetPlottables<ScottPlot.Plottables.Text>().Count();
        Assert.True(left > 0, "some names must be left out");
        Assert.True(named >= 1);
        Assert.Equal(30, named + left);
    }

    [Theory]
    [InlineData(Alignment.LowerLeft, 100, 86, 150, 100)]
    [InlineData(Alignment.UpperRight, 50, 100, 100, 114)]
    [InlineData(Alignment.LowerCenter, 75, 86, 125, 100)]
    public void A_box_sits_on_its_anchor_as_its_alignment_says(Alignment align, float left, float top, float right, float bottom)
    {
        var box = LabelPlacer.Box(100, 100, 50, 14, align);
        Assert.Equal((left - 1, top - 1, right + 1, bottom + 1), (box.Left, box.Top, box.Right, box.Bottom));
    }
}
