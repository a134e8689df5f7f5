using System.CommandLine;
using System.Globalization;
using ParameterServer.Core.Export;
using ParameterServer.Embed.Options;
using ParameterServer.Embed.Transfer;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed export</c>: every row of a table to projector TSV, NumPy .npy, word2vec text or CSV files.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var table = new Option<string>("--table") { Description = "Table to export.", Required = true };
        var format = new Option<string>("--format")
        {
            Description = "projector: vectors.tsv, metadata.tsv (one label per line, no header) and projector_config.json for projector.tensorflow.org; "
                + "npy: NAME.npy (float32, rows x dim), NAME.ids.npy (int64 row ids) and NAME.labels.txt, same order; "
                + "word2vec-text: NAME.word2vec.txt, header 'rows dim' then 'label v1 ... vdim' (whitespace inside a label becomes '_'; the header line is padded with spaces); "
                + "csv: NAME.csv with header id,label,v0,...",
            Required = true,
        };
        var output = new Option<DirectoryInfo>("--out") { Description = "Output directory, created when missing. Files of the same names there are overwritten; each is written under a .partial name and renamed at the end, so a failed export leaves no half-written file.", Required = true };
        var cluster = CommonOptions.Cluster();
        var command = new Command("export", "Export every row of a table, streaming shard after shard with bounded memory. Rows come in shard order, the same in every file; a row without a label is labelled with its id; floats are written in their shortest round-trip form.")
        {
            table, format, output, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            var kind = EmbeddingWriter.ParseFormat(p.GetValue(format)!);
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            ExportResult result;
            try
            {
                result = await EmbeddingExport.RunAsync(connection.Client, p.GetValue(table)!, kind, p.GetValue(output)!.FullName, new ProgressLine(Console.Error, "export", TimeSpan.FromSeconds(2)), cancellationToken: ct);
            }
            catch (KeyNotFoundException e) when (connection.Embedded)
            {
                throw new KeyNotFoundException($"{e.Message} The embedded silo of this process starts empty: export with --cluster from the silo that holds the table.", e);
            }

            foreach (string note in result.Notes)
            {
                Console.Error.WriteLine($"note: {note}");
            }

            double seconds = Math.Max(result.Elapsed.TotalSeconds, 1e-9);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"export: {result.Rows:N0} rows of dim {result.Dim} from {result.Table} in {seconds:F1} s ({result.Rows / seconds:N0} rows/s), {result.Bytes:N0} bytes:"));
            foreach (var (path, bytes) in result.Files)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {path} ({bytes:N0} bytes)"));
            }

            return 0;
        });
        return command;
    }
}
