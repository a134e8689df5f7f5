using System.CommandLine;
using System.Globalization;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Worker.Plots;

namespace ParameterServer.Worker.Commands;

/// <summary><c>embed train</c>: trains a rating model on a ratings file through the parameter server.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var ratings = new Option<FileInfo>("--ratings") { Description = "Ratings file: MovieLens ratings.csv (userId,movieId,rating,timestamp) or any delimited triples file (see --user-column etc.). Required by the rating models (dot, dot-bias, mf)." };
        var items = new Option<FileInfo?>("--items") { Description = "MovieLens movies.csv: titles become the labels of the item table's rows." };
        var validationFile = new Option<FileInfo?>("--validation-file") { Description = "Explicit validation ratings (same format); replaces the random split." };
        var validation = new Option<double>("--validation") { Description = "Fraction of the ratings held out for validation by a seeded random split.", DefaultValueFactory = _ => 0.2 };
        var model = CommonOptions.Model("mf");
        var dim = new Option<int>("--dim") { Description = "Embedding dimension.", DefaultValueFactory = _ => 64 };
        var epochs = new Option<int>("--epochs") { Description = "Most epochs (early stopping may end sooner).", DefaultValueFactory = _ => 40 };
        var batch = new Option<int>("--batch-size") { Description = "Samples per minibatch.", DefaultValueFactory = _ => 1024 };
        var optimizer = new Option<string>("--optimizer") { Description = "Server-side optimizer: sgd, adagrad or adam (lazy: only touched rows step).", DefaultValueFactory = _ => "adam" };
        var lr = new Option<float?>("--lr") { Description = "Learning rate (default: adam 0.005, adagrad 0.05, sgd 0.01). Gradients are of ½ Σ (pred − y)² over the batch, so rates keep their per-sample meaning at any batch size." };
        var wd = new Option<float?>("--weight-decay") { Description = "L2 weight decay the server adds to the gradient of touched rows (default: 0.25 for mf and dot-bias, 0.1 for dot)." };
        var initScale = new Option<float>("--init-scale") { Description = "Standard deviation of the initial embedding values.", DefaultValueFactory = _ => 0.1f };
        var workers = new Option<int>("--workers") { Description = "Concurrent worker loops, each with its own minibatch stream.", DefaultValueFactory = _ => 2 };
        var staleness = new Option<int>("--staleness") { Description = "Steps whose pushes a worker loop may have outstanding (0 = synchronous).", DefaultValueFactory = _ => 2 };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, the initialization and the shuffling.", DefaultValueFactory = _ => 42 };
        var patience = new Option<int>("--patience") { Description = "Epochs without a better validation RMSE before stopping; the best epoch's rows are kept.", DefaultValueFactory = _ => 3 };
        var shards = new Option<int>("--shards") { Description = "Virtual shards per table.", DefaultValueFactory = _ => 8 };
        var prefix = CommonOptions.TablePrefix();
        var cluster = CommonOptions.Cluster();
        var report = new Option<FileInfo?>("--report") { Description = "Write the job's figures as JSON to this file." };
        var delimiter = new Option<string>("--delimiter") { Description = "Field delimiter of the ratings file ('\\t' for tab).", DefaultValueFactory = _ => "," };
        var noHeader = new Option<bool>("--no-header") { Description = "The ratings file has no header line (give columns by 0-based index)." };
        var userCol = new Option<string>("--user-column") { Description = "User column: header name or 0-based index.", DefaultValueFactory = _ => "userId" };
        var itemCol = new Option<string>("--item-column") { Description = "Item column: header name or 0-based index.", DefaultValueFactory = _ => "movieId" };
        var ratingCol = new Option<string>("--rating-column") { Description = "Rating column: header name or 0-based index.", DefaultValueFactory = _ => "rating" };
        var skipBad = new Option<bool>("--skip-bad-rows") { Description = "Skip and count malformed lines instead of stopping at the first." };
        var json = new Option<bool>("--json") { Description = "Print nothing but the job's report as one JSON line at the end (no progress, no tables)." };
        var plot = new Option<FileInfo?>("--plot") { Description = "Draw the training curve (train MSE and validation RMSE per epoch) to this PNG file." };

        var command = new Command("train", "Train a rating model (dot, dot-bias or mf) on a ratings file; report validation RMSE and throughput.")
        {
            ratings, items, validationFile, validation, model, dim, epochs, batch, optimizer, lr, wd, initScale, workers, staleness,
            seed, patience, shards, prefix, cluster, report, delimiter, noHeader, userCol, itemCol, ratingCol, skipBad, json, plot,
        };
        var telemetry = CommonOptions.Telemetry();
        telemetry.AddTo(command);
        TabularTrainOptions.AddTo(command);
        command.SetAction(async (p, ct) =>
        {
            if (TabularTrainOptions.Handles(p.GetValue(model)!))
            {
                return await TabularTrainOptions.RunAsync(p, telemetry, ct);
            }

            var kind = RatingModel.ParseKind(p.GetValue(model)!, [TabularTrainer.ModelName]);
            var ratingsFile = p.GetValue(ratings) ?? throw new ArgumentException($"--ratings is required for model {RatingModel.NameOf(kind)}.");
            var opt = OptimizerSettings.ParseKind(p.GetValue(optimizer)!);
            var readerOptions = new RatingsReaderOptions
            {
                Delimiter = ParseDelimiter(p.GetValue(delimiter)!),
                HasHeader = !p.GetValue(noHeader),
                UserColumn = p.GetValue(userCol)!,
                ItemColumn = p.GetValue(itemCol)!,
                RatingColumn = p.GetValue(ratingCol)!,
                SkipBadRows = p.GetValue(skipBad),
            };
            var options = new TrainingOptions
            {
                Model = kind,
                Dim = p.GetValue(dim),
                Epochs = p.GetValue(epochs),
                BatchSize = p.GetValue(batch),
                Optimizer = opt,
                LearningRate = p.GetValue(lr) ?? DefaultLearningRate(opt),
                WeightDecay = p.GetValue(wd) ?? (kind == RatingModelKind.Dot ? 0.1f : 0.25f),
                InitScale = p.GetValue(initScale),
                Workers = p.GetValue(workers),
                Staleness = p.GetValue(staleness),
                Seed = p.GetValue(seed),
                Patience = p.GetValue(patience),
                Shards = p.GetValue(shards),
                TablePrefix = p.GetValue(prefix)!,
            };
            options.Validate();
            bool asJson = p.GetValue(json);
            // --json keeps stdout for the report line alone.
            var human = asJson ? TextWriter.Null : Console.Out;
            if (p.GetValue(plot) is { } plotTarget)
            {
                CurvePlot.CheckTarget(plotTarget.FullName);
            }

            var data = RatingsReader.Read(ratingsFile.FullName, readerOptions);
            Ratings train, valid;
            if (p.GetValue(validationFile) is { } vf)
            {
                (train, valid) = (data, RatingsReader.Read(vf.FullName, readerOptions));
            }
            else
            {
                (train, valid) = data.Split(p.GetValue(validation), options.Seed);
            }

            human.WriteLine($"data: {data.Count:N0} ratings{(data.SkippedRows > 0 ? $" ({data.SkippedRows} malformed lines skipped)" : "")}; train {train.Count:N0}, validation {valid.Count:N0}");
            await using var exporters = await telemetry.Start(p);
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            if (exporters.Description is { } served)
            {
                human.WriteLine($"telemetry: {served}");
            }

            human.WriteLine($"cluster: {connection.Description}; model {RatingModel.NameOf(kind)}, dim {options.Dim}, {opt.ToString().ToLowerInvariant()} lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)}, weight decay {options.WeightDecay.ToString(CultureInfo.InvariantCulture)}, batch {options.BatchSize}, workers {options.Workers}, staleness {options.Staleness}");
            var result = await TrainingConsole.RunAsync(connection, options, train, valid, TrainingView.ForStdout(asJson, noiseFloor: null), ct);
            if (p.GetValue(items) is { } itemsFile)
            {
                var titles = TitlesReader.Read(itemsFile.FullName);
                var tables = await RatingTables.OpenAsync(connection.Client, options.TablePrefix);
                await connection.Client.SetLabelsAsync(tables.Items, titles);
                human.WriteLine($"labels: {titles.Count:N0} titles set on table {tables.Items.Spec.Name}");
            }

            result = result with { Cluster = connection.Description };
            if (p.GetValue(report) is { } reportFile)
            {
                await File.WriteAllTextAsync(reportFile.FullName, ReportJson.Serialize(result, indented: true), ct);
                human.WriteLine($"report: {reportFile.FullName}");
            }

            if (p.GetValue(plot) is { } plotFile)
            {
                PlotCommand.SaveCurve(result, plotFile.FullName, CurvePlot.DefaultWidth, CurvePlot.DefaultHeight, human);
            }

            if (asJson)
            {
                Console.WriteLine(ReportJson.Serialize(result, indented: false));
            }

            return 0;
        });
        return command;
    }

    internal static float DefaultLearningRate(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => 0.01f,
        OptimizerKind.Adagrad => 0.05f,
        _ => 0.005f,
    };

    internal static char ParseDelimiter(string text) => text switch
    {
        "\\t" or "tab" or "\t" => '\t',
        { Length: 1 } => text[0],
        _ => throw new ArgumentException($"--delimiter '{text}' must be a single character (or \\t)."),
    };
}
