using System.CommandLine;
using System.Globalization;
using ParameterServer.Core.Data;
using ParameterServer.Core.Optimizers;
using ParameterServer.Embed.Options;
using ParameterServer.Embed.Transfer;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed import</c>: pre-trained word vectors (word2vec text, GloVe) into a table, labelled with the words.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var format = new Option<string>("--format") { Description = "word2vec-text (a header line 'count dim', then 'word v1 ... vdim' per line) or glove (no header; the dimension is read from the first line).", Required = true };
        var file = new Option<FileInfo>("--file") { Description = "The vector file (UTF-8; fields separated by spaces or tabs; blank lines ignored).", Required = true };
        var table = new Option<string>("--table") { Description = "Table to create with the file's dimension, or an existing table of that dimension whose rows of these words are overwritten (its settings are kept).", Required = true };
        var shards = new Option<int>("--shards") { Description = "Virtual shards of a new table.", DefaultValueFactory = _ => 8 };
        var optimizer = new Option<string>("--optimizer") { Description = "Optimizer of a new table, for fine-tuning later: sgd, adagrad or adam.", DefaultValueFactory = _ => "adam" };
        var lr = new Option<float?>("--lr") { Description = "Learning rate of a new table (default: adam 0.005, adagrad 0.05, sgd 0.01)." };
        var wd = new Option<float>("--weight-decay") { Description = "L2 weight decay of a new table.", DefaultValueFactory = _ => 0f };
        var skip = new Option<bool>("--skip-bad-lines") { Description = "Skip and count bad lines (wrong number of values, not a number, NaN or infinity, a repeated word, two words with one row id) instead of stopping at the first; a header count that disagrees becomes a warning." };
        var cluster = CommonOptions.Cluster();
        var command = new Command("import", "Import pre-trained vectors into a table: row id = the stable hash of the word (as every string-keyed workload uses), label = the word. The whole file is checked first: a bad line stops the import with file:line and writes nothing (no table created, no row changed) unless --skip-bad-lines.")
        {
            format, file, table, shards, optimizer, lr, wd, skip, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            var opt = OptimizerSettings.ParseKind(p.GetValue(optimizer)!);
            var request = new ImportRequest
            {
                File = p.GetValue(file)!.FullName,
                Format = VectorTextReader.ParseFormat(p.GetValue(format)!),
                Table = p.GetValue(table)!,
                Shards = p.GetValue(shards),
                Optimizer = opt,
                LearningRate = p.GetValue(lr) ?? TrainCommand.DefaultLearningRate(opt),
                WeightDecay = p.GetValue(wd),
                SkipBadLines = p.GetValue(skip),
            };
            var plan = EmbeddingImport.Plan(request);
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            if (connection.Embedded)
            {
                Console.Error.WriteLine("note: importing into the embedded silo of this process: the table ends with it. Use --cluster to import into a running cluster.");
            }

            var result = await EmbeddingImport.RunAsync(connection.Client, plan, new ProgressLine(Console.Error, "import", TimeSpan.FromSeconds(2)), ct);
            foreach (string problem in result.Summary.Problems)
            {
                Console.Error.WriteLine($"skipped: {problem}");
            }

            if (result.BadLines > result.Summary.Problems.Count)
            {
                Console.Error.WriteLine($"skipped: ... {result.BadLines - result.Summary.Problems.Count:N0} more bad lines");
            }

            if (result.Summary.HeaderWarning is { } warning)
            {
                Console.Error.WriteLine($"warning: {warning}");
            }

            double seconds = Math.Max(result.Elapsed.TotalSeconds, 1e-9);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"import: {result.Rows:N0} rows of dim {result.Dim} into {(result.Created ? "new" : "existing")} table {result.Table} from {request.File} in {seconds:F1} s ({result.Rows / seconds:N0} rows/s; validation {result.Validation.TotalSeconds:F1} s); {result.BadLines:N0} bad lines skipped"));
            return 0;
        });
        return command;
    }
}
