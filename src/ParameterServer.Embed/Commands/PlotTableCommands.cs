using System.CommandLine;
using ParameterServer.Client.Analysis;
using ParameterServer.Embed.Options;
using ParameterServer.Embed.Plots;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed plot pca</c> and <c>embed plot heatmap</c>: pictures of a table's rows, read with whole-table scans.</summary>
internal static class PlotTableCommands
{
    /// <summary>Most rows a heatmap shows.</summary>
    public const int MaxHeatmapRows = 500;

    public static Command Pca()
    {
        var table = Table();
        var labels = new Option<int>("--labels") { Description = "Name this many of the most updated rows (most optimizer steps) on the map, by label (or id).", DefaultValueFactory = _ => 20 };
        var output = Output();
        var width = new Option<int>("--width") { Description = "Width in pixels.", DefaultValueFactory = _ => TablePlots.PcaWidth };
        var height = new Option<int>("--height") { Description = "Height in pixels.", DefaultValueFactory = _ => TablePlots.PcaHeight };
        var cluster = CommonOptions.Cluster();
        var command = new Command("pca", "A 2-D PCA map of a table: every row projected on the table's first two principal components (mean and covariance accumulated in double over a scan of every row), the most updated rows named. The title gives each component's share of the variance.")
        {
            table, labels, output, width, height, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            int n = CheckCount("--labels", p.GetValue(labels), 0, 1000);
            string path = p.GetValue(output)!.FullName;
            TablePlots.CheckSize(p.GetValue(width), p.GetValue(height));
            TablePlots.CheckTarget(path);
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            var map = await QueryCommand.WithEmbeddedHint(connection, async () => await TablePca.ComputeAsync(await connection.Client.OpenTableAsync(p.GetValue(table)!), n, ct));
            TablePlots.Save(TablePlots.Pca(map, p.GetValue(width), p.GetValue(height)), path, p.GetValue(width), p.GetValue(height));
            Console.WriteLine(FormattableString.Invariant($"pca: {map.Table}, {map.Rows:N0} rows of dim {map.Dim}: PC1 {map.Basis.Explained(0):P1}, PC2 {map.Basis.Explained(1):P1} of the variance ({map.Basis.TotalVariance:G4} in all)"));
            WarnWithoutFonts();
            Console.WriteLine($"plot: {path}");
            return 0;
        });
        return command;
    }

    public static Command Heatmap()
    {
        var table = Table();
        var rows = new Option<int>("--rows") { Description = $"How many rows to show (1 to {MaxHeatmapRows}).", DefaultValueFactory = _ => 20 };
        var by = new Option<string>("--by") { Description = "Which rows: id (the lowest ids, in id order: the first rows of the table) or updates (the most updated rows, most first).", DefaultValueFactory = _ => "id" };
        var output = Output();
        var width = new Option<int>("--width") { Description = "Width in pixels.", DefaultValueFactory = _ => TablePlots.HeatmapWidth };
        var height = new Option<int>("--height") { Description = "Height in pixels.", DefaultValueFactory = _ => TablePlots.HeatmapHeight };
        var cluster = CommonOptions.Cluster();
        var command = new Command("heatmap", "A heatmap of a table's rows: one line a row, named by its label (or id), one column a component, colours centred on 0 with a colour bar.")
        {
            table, rows, by, output, width, height, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            int n = CheckCount("--rows", p.GetValue(rows), 1, MaxHeatmapRows);
            var order = p.GetValue(by)?.Trim().ToLowerInvariant() switch
            {
                "id" or "ids" => RowOrder.Id,
                "updates" or "steps" => RowOrder.Updates,
                var other => throw new ArgumentException($"--by '{other}' is not known: give id or updates."),
            };
            string path = p.GetValue(output)!.FullName;
            TablePlots.CheckSize(p.GetValue(width), p.GetValue(height));
            TablePlots.CheckTarget(path);
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            string name = p.GetValue(table)!;
            var picked = await QueryCommand.WithEmbeddedHint(connection, async () => await RowSelection.SelectAsync(await connection.Client.OpenTableAsync(name), n, order, ct));
            TablePlots.Save(TablePlots.Heatmap(name, picked, order), path, p.GetValue(width), p.GetValue(height));
            Console.WriteLine($"heatmap: {name}, {picked.Ids.Length} rows of dim {picked.Dim}");
            WarnWithoutFonts();
            Console.WriteLine($"plot: {path}");
            return 0;
        });
        return command;
    }

    /// <summary><paramref name="value"/> when it is in <c>[min, max]</c>; an error naming <paramref name="option"/> otherwise.</summary>
    internal static int CheckCount(string option, int value, int min, int max) =>
        value >= min && value <= max ? value : throw new ArgumentException($"{option} must be between {min} and {max}; got {value}.");

    private static Option<string> Table() => new("--table") { Description = "The table to draw, e.g. ratings.items.", Required = true };

    private static Option<FileInfo> Output() => new("--out") { Description = "The PNG file to write.", Required = true };

    private static void WarnWithoutFonts()
    {
        if (!CurvePlot.HasFonts)
        {
            Console.Error.WriteLine("warning: no fonts under /usr/share/fonts, so the plot has no text (install one, e.g. apt-get install fonts-dejavu-core).");
        }
    }
}
