using System.CommandLine;
using ParameterServer.Client.Training;
using ParameterServer.Embed.Plots;
using ParameterServer.Embed.Views;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed plot</c>: pictures of a finished job, drawn from its <c>--report</c> file.</summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var report = new Option<FileInfo>("--report") { Description = "A report written by embed train --report FILE.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "The PNG file to write.", Required = true };
        var width = new Option<int>("--width") { Description = "Width in pixels.", DefaultValueFactory = _ => CurvePlot.DefaultWidth };
        var height = new Option<int>("--height") { Description = "Height in pixels.", DefaultValueFactory = _ => CurvePlot.DefaultHeight };
        var curve = new Command("curve", "The training curve: train and validation RMSE per epoch on one axis (log loss for binary tasks; BPR loss and NDCG for bpr), the best epoch marked.")
        {
            report, output, width, height,
        };
        curve.SetAction(p =>
        {
            var r = ReportJson.Read(p.GetValue(report)!.FullName);
            SaveCurve(r, p.GetValue(output)!.FullName, p.GetValue(width), p.GetValue(height), Console.Out);
            return 0;
        });
        return new Command("plot", "Draw pictures: a finished job's training curve from its --report file, or a table's rows (pca, heatmap).") { curve, PlotTableCommands.Pca(), PlotTableCommands.Heatmap() };
    }

    /// <summary>Writes the curve PNG, says where on <paramref name="human"/>, and warns on stderr when no font is there to draw its text.</summary>
    internal static void SaveCurve(TrainingReport report, string path, int width, int height, TextWriter human)
    {
        CurvePlot.SavePng(report, path, width, height);
        if (!CurvePlot.HasFonts)
        {
            Console.Error.WriteLine("warning: no fonts under /usr/share/fonts, so the plot has no text (install one, e.g. apt-get install fonts-dejavu-core).");
        }

        human.WriteLine($"plot: {path}");
    }
}
