using System.CommandLine;
using System.Globalization;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Embed.Options;
using ParameterServer.Embed.Plots;
using ParameterServer.Embed.Views;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed train</c>: trains a rating, link or tabular model through the parameter server.</summary>
internal static class TrainCommand
{
    /// <summary>
    /// <c>embed train</c>; with <paramref name="crossValidation"/> <c>embed cv</c>, the same options and data for a
    /// rating model, trained once per fold of <c>--folds</c> (<see cref="CrossValidation"/>); with
    /// <paramref name="tune"/> <c>embed tune</c>, trained once per trial of a random search (<see cref="HyperparameterSearch"/>).
    /// </summary>
    public static Command Create(bool crossValidation = false, bool tune = false)
    {
        bool scratch = crossValidation || tune;
        var ratings = new Option<FileInfo?>("--ratings") { Description = "Ratings file (required by models dot, dot-bias, mf): MovieLens ratings.csv (userId,movieId,rating,timestamp) or any delimited triples file (see --user-column etc.)." };
        var items = new Option<FileInfo?>("--items") { Description = "MovieLens movies.csv: titles become the labels of the item table's rows (mf, dot, dot-bias) or of numeric entities (link)." };
        var validationFile = new Option<FileInfo?>("--validation-file") { Description = "Explicit validation ratings (same format); replaces the random split." };
        var shared = new TrainOptions();
        var model = new Option<string>("--model")
        {
            Description = "Model: dot (u·v), dot-bias (sigmoid(u·v+b_u+b_i)·(max−min)+min), mf (mu+b_u+b_i+u·v), or bpr (implicit feedback: the ratings ≥ --relevant-threshold are the interactions, ranked by u·v+b_i, trained by the pairwise BPR loss on a sampled negative per positive) on --ratings; link (entity and link embeddings with negative sampling) on --pairs; tabular (entity embeddings of categorical columns with a dense head) on --data.",
            DefaultValueFactory = _ => "mf",
        };
        var userCol = new Option<string>("--user-column") { Description = "User column: header name or 0-based index.", DefaultValueFactory = _ => "userId" };
        var itemCol = new Option<string>("--item-column") { Description = "Item column: header name or 0-based index.", DefaultValueFactory = _ => "movieId" };
        var ratingCol = new Option<string>("--rating-column") { Description = "Rating column: header name or 0-based index.", DefaultValueFactory = _ => "rating" };
        var cacheRows = new Option<int>("--cache-rows") { Description = "Cache the N most frequent users and items (and their biases) in the worker process: hot rows are served from it at most --cache-staleness steps old and their gradients are summed and written back (rating models; 0 = off).", DefaultValueFactory = _ => 0 };
        var cacheStaleness = new Option<int>("--cache-staleness") { Description = "Steps a cached hot row may be older than the step that reads it; also how often the cache writes its summed gradients back.", DefaultValueFactory = _ => 8 };
        var wire = CommonOptions.Wire();
        var plot = new Option<FileInfo?>("--plot") { Description = "Draw the training curve (train and validation RMSE per epoch on one axis; log loss for binary tasks; BPR loss and NDCG for bpr) to this PNG file." };
        var fresh = new Option<bool>("--fresh") { Description = "Rating models: drop the tables of --table-prefix first and train from scratch. Without it, a job whose tables exist resumes from their rows, and refuses settings (model, dim, shards, optimizer, learning rate, weight decay, initializer, seed) that differ from theirs." };
        var rankK = new Option<int>("--rank-k") { Description = "Rating models: rank every training item for each validation user (leaving out the items they rated in training) and report precision@k, recall@k, NDCG@k, MAP@k and catalogue coverage at this k, beside a most-popular baseline (0 = off).", DefaultValueFactory = _ => 10 };
        var relevant = new Option<double>("--relevant-threshold") { Description = "Rating models: a validation rating at or above this is relevant for the ranking figures.", DefaultValueFactory = _ => 4.0 };
        var rankUsers = new Option<int>("--rank-users") { Description = "Rating models: most validation users ranked (a seeded sample beyond it; each scores every item).", DefaultValueFactory = _ => 5000 };

        var command = new Command(tune ? "tune" : crossValidation ? "cv" : "train", tune ? "Hyper-parameter search for a rating model (dot, dot-bias, mf, bpr): --trials seeded random draws of the learning rate and weight decay (log-uniform over --lr-range and --weight-decay-range) and the dimension (one of --dims), each trained fresh on the same training split (tables {prefix}-tuneN.*, dropped afterwards) and judged on the same validation split (RMSE; NDCG@k for bpr); prints every trial and the best setting." : crossValidation ? "K-fold cross-validation of a rating model (dot, dot-bias, mf, bpr), as Surprise's cross_validate: the ratings are cut into --folds seeded folds, each trains a fresh model on the others (tables {prefix}-cvN.*, dropped afterwards) and validates on its own; prints every fold and the mean ± std of validation RMSE and of the ranking figures." : "Train a model through the parameter server: a rating model (dot, dot-bias, mf) on a ratings file, reporting validation RMSE and ranking figures, or bpr on the same file read as implicit feedback, link embeddings on (entity, link) pairs, reporting AUC and recall@k, or a tabular model on categorical and numeric columns, reporting validation loss.")
        {
            ratings, items, validationFile, model, userCol, itemCol, ratingCol, cacheRows, cacheStaleness, wire, plot, fresh, rankK, relevant, rankUsers,
        };
        var folds = new Option<int>("--folds") { Description = "Folds of the cross-validation (2 or more).", DefaultValueFactory = _ => 5 };
        if (crossValidation)
        {
            command.Options.Add(folds);
        }

        var trials = new Option<int>("--trials") { Description = "Settings to try (each a full training job).", DefaultValueFactory = _ => 10 };
        var lrRange = new Option<string>("--lr-range") { Description = "Lowest and highest learning rate, drawn log-uniformly.", DefaultValueFactory = _ => "0.001,0.02" };
        var wdRange = new Option<string>("--weight-decay-range") { Description = "Lowest and highest weight decay, drawn log-uniformly.", DefaultValueFactory = _ => "0.01,1" };
        var dims = new Option<string>("--dims") { Description = "Dimensions to choose from, comma-separated.", DefaultValueFactory = _ => "16,32,64,128" };
        if (tune)
        {
            command.Options.Add(trials);
            command.Options.Add(lrRange);
            command.Options.Add(wdRange);
            command.Options.Add(dims);
        }
        Option[] ratingOptions = [.. command.Options];
        shared.AddTo(command);
        Option[] common = [.. command.Options.Except(ratingOptions)];
        var link = new LinkTrainCommand();
        link.AddTo(command);
        Option[] linkOptions = [.. command.Options.Except(ratingOptions).Except(common)];
        TabularTrainOptions.AddTo(command);
        Option[] tabularOptions = [.. command.Options.Except(ratingOptions).Except(common).Except(linkOptions)];
        string verb = tune ? "tune" : crossValidation ? "cv" : "train";
        if (scratch)
        {
            // cv and tune work on rating models only: the link and tabular options would only be refused.
            command.Description = command.Description![..command.Description!.IndexOf(" With --model tabular", StringComparison.Ordinal)];
            foreach (var option in linkOptions.Concat(tabularOptions))
            {
                option.Hidden = true;
            }
        }

        GroupedHelp.Apply(
            command,
            [
                ("Rating models (--model dot, dot-bias, mf, bpr) on --ratings", ratingOptions),
                ("Link embeddings (--model link) on --pairs", linkOptions),
                ("Entity embeddings of tabular data (--model tabular) on --data", tabularOptions),
                ("Every model: training, optimizer, tables, cluster and output", common),
            ],
            tune
                ? ["embed tune --ratings ratings.csv --model mf --trials 12 --seed 42", "embed tune --ratings ratings.csv --model bpr --lr-range 0.002,0.02 --weight-decay-range 0.01,0.2 --dims 32,64"]
                : crossValidation
                ? [$"embed cv --ratings ratings.csv --folds 5 --model mf --seed 42", $"embed cv --ratings ratings.csv --folds 5 --model bpr --json"]
                : [
                    $"embed {verb} --ratings ratings.csv --items movies.csv --validation 0.2 --seed 42 --report report.json --plot curve.png",
                    $"embed {verb} --ratings ratings.csv --model bpr --cluster localhost:30000",
                    $"embed {verb} --model link --pairs links.csv --entity-column book --link-column link",
                    $"embed {verb} --model tabular --data adult.csv --target income --task binary",
                ]);
        var dim = shared.Dim;
        var epochs = shared.Epochs;
        var batch = shared.BatchSize;
        var optimizer = shared.Optimizer;
        var lr = shared.LearningRate;
        var wd = shared.WeightDecay;
        var initScale = shared.InitScale;
        var workers = shared.Workers;
        var staleness = shared.Staleness;
        var seed = shared.Seed;
        var patience = shared.Patience;
        var shards = shared.Shards;
        var prefix = shared.TablePrefix;
        var cluster = shared.Cluster;
        var report = shared.Report;
        var delimiter = shared.Delimiter;
        var noHeader = shared.NoHeader;
        var skipBad = shared.SkipBadRows;
        var json = shared.Json;
        var validation = shared.Validation;
        var telemetry = shared.Telemetry;
        command.SetAction(async (p, ct) =>
        {
            TrainingPathCompiler.Start(); // while the data loads and the silo starts
            string modelName = p.GetValue(model)!.Trim().ToLowerInvariant();
            var wireValues = CommonOptions.ParseWire(p.GetValue(wire)!);
            if (wireValues != Abstractions.WireValues.Float32 && (modelName == "link" || TabularTrainOptions.Handles(modelName)))
            {
                throw new ArgumentException($"--wire {p.GetValue(wire)} applies to rating models (dot, dot-bias, mf); model {modelName} sends float32.");
            }

            if (scratch && (modelName == "link" || TabularTrainOptions.Handles(modelName)))
            {
                throw new ArgumentException(tune
                    ? $"embed tune searches settings of rating models (dot, dot-bias, mf, bpr); not {modelName}."
                    : $"embed cv cross-validates rating models (dot, dot-bias, mf, bpr); not {modelName}.");
            }

            if (tune && p.GetValue(plot) is not null)
            {
                throw new ArgumentException("embed tune draws no curve: leave out --plot (train the best setting with --plot).");
            }

            if (crossValidation && (p.GetValue(validationFile) is not null || p.GetValue(plot) is not null))
            {
                throw new ArgumentException("embed cv makes its own validation folds and draws no curve: leave out --validation-file and --plot.");
            }

            if (modelName == "link")
            {
                return await link.RunAsync(p, shared, items, ct);
            }

            if (TabularTrainOptions.Handles(modelName))
            {
                return await TabularTrainOptions.RunAsync(p, telemetry, ct);
            }

            var kind = RatingModel.ParseKind(modelName, ["link", TabularTrainer.ModelName]);

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
                WeightDecay = p.GetValue(wd) ?? kind switch { RatingModelKind.Dot => 0.1f, RatingModelKind.Bpr => 0.05f, _ => 0.25f },
                InitScale = p.GetValue(initScale),
                Workers = p.GetValue(workers),
                Staleness = p.GetValue(staleness),
                WorkerIndex = p.GetValue(shared.WorkerIndex),
                WorkerCount = p.GetValue(shared.WorkerCount),
                Seed = p.GetValue(seed),
                Patience = p.GetValue(patience),
                Shards = p.GetValue(shards),
                TablePrefix = p.GetValue(prefix)!,
                Fresh = p.GetValue(fresh),
                CacheRows = p.GetValue(cacheRows),
                CacheStaleness = p.GetValue(cacheStaleness),
                Wire = wireValues,
                RankK = p.GetValue(rankK),
                RelevantThreshold = p.GetValue(relevant),
                RankUsers = p.GetValue(rankUsers),
            };
            options.Validate();
            bool asJson = p.GetValue(json);
            // --json keeps stdout for the report line alone.
            var human = asJson ? TextWriter.Null : Console.Out;
            if (p.GetValue(plot) is { } plotTarget)
            {
                CurvePlot.CheckTarget(plotTarget.FullName);
            }

            // Titles are checked before training: a bad line is an error now, not after the whole job.
            var titles = p.GetValue(items) is { } titlesFile ? TitlesReader.Read(titlesFile.FullName) : null;
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

            human.WriteLine($"data: {data.Count:N0} ratings{(data.SkippedRows > 0 ? $" ({data.SkippedRows} malformed lines skipped)" : "")}; {(crossValidation ? $"{p.GetValue(folds)} folds" : $"train {train.Count:N0}, validation {valid.Count:N0}")}");
            await using var exporters = await telemetry.Start(p);
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            if (exporters.Description is { } served)
            {
                human.WriteLine($"telemetry: {served}");
            }

            human.WriteLine($"cluster: {connection.Description}; model {RatingModel.NameOf(kind)}, dim {options.Dim}, {opt.ToString().ToLowerInvariant()} lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)}, weight decay {options.WeightDecay.ToString(CultureInfo.InvariantCulture)}, batch {options.BatchSize}, workers {options.Workers}, staleness {options.Staleness}{(options.CacheRows > 0 ? $", cache {options.CacheRows} rows/table, {options.CacheStaleness} steps" : "")}{(options.Wire != Abstractions.WireValues.Float32 ? $", wire {CommonOptions.NameOf(options.Wire)}" : "")}");
            if (tune)
            {
                var space = new SearchSpace(SearchSpace.Range(p.GetValue(lrRange)!, "--lr-range"), SearchSpace.Range(p.GetValue(wdRange)!, "--weight-decay-range"), SearchSpace.ParseDims(p.GetValue(dims)!));
                int n = p.GetValue(trials) is var tr and >= 1 and <= 1000 ? tr : throw new ArgumentException($"--trials must be in 1..1000; got {p.GetValue(trials)}.");
                var search = await HyperparameterSearch.RunAsync(connection, options, train, valid, n, space, human, ct);
                human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best of {n} trials ({search.Criterion}): trial {search.Best.Trial}, --lr {search.Best.LearningRate} --weight-decay {search.Best.WeightDecay} --dim {search.Best.Dim}: {HyperparameterSearch.Figure(search.Best)}"));
                if (p.GetValue(report) is { } tuneReport)
                {
                    await File.WriteAllTextAsync(tuneReport.FullName, ReportJson.Serialize(search, indented: true), ct);
                    human.WriteLine($"report: {tuneReport.FullName}");
                }

                if (asJson)
                {
                    Console.WriteLine(ReportJson.Serialize(search, indented: false));
                }

                return 0;
            }

            if (crossValidation)
            {
                var cv = await CrossValidation.RunAsync(connection, options, data, p.GetValue(folds), human, ct);
                foreach (string line in CrossValidation.Summary(cv, options.RankK))
                {
                    human.WriteLine(line);
                }

                if (p.GetValue(report) is { } cvReport)
                {
                    await File.WriteAllTextAsync(cvReport.FullName, ReportJson.Serialize(cv, indented: true), ct);
                    human.WriteLine($"report: {cvReport.FullName}");
                }

                if (asJson)
                {
                    Console.WriteLine(ReportJson.Serialize(cv, indented: false));
                }

                return 0;
            }

            if (!options.Fresh && await ResumedFrom(connection.Client, options.TablePrefix) is { } resumed)
            {
                human.WriteLine(resumed);
            }

            var result = await TrainingConsole.RunAsync(connection, options, train, valid, TrainingView.ForStdout(asJson, noiseFloor: null), ct);
            foreach (string error in result.CheckpointErrors)
            {
                // Not fatal (the rows are trained and in memory), but a crash now would lose them: say so on stderr.
                Console.Error.WriteLine($"warning: checkpoint failing: {error}");
            }

            foreach (string gap in result.RollbackGaps)
            {
                // The report's best epoch and its RMSE then describe rows these shards no longer hold.
                Console.Error.WriteLine($"warning: rollback to epoch {result.BestEpoch} incomplete: {gap}");
            }
            if (titles is not null)
            {
                // A label goes on a row the model trained, never creates one: a title nobody rated in training would
                // be an untrained random row in queries, exports and plots.
                var tables = await RatingTables.OpenAsync(connection.Client, options.TablePrefix);
                var trained = train.Items.Where((_, r) => kind != RatingModelKind.Bpr || train.Values[r] >= options.RelevantThreshold).ToHashSet();
                var labels = titles.Where(t => trained.Contains(t.Key)).ToDictionary();
                await connection.Client.SetLabelsAsync(tables.Items, labels);
                human.WriteLine($"labels: {labels.Count:N0} titles set on table {tables.Items.Spec.Name}{(labels.Count < titles.Count ? $" ({titles.Count - labels.Count:N0} titles of items without a training rating left out)" : "")}");
            }

            result = result with { Cluster = connection.Description };
            if (result.CacheHitRate is { } hitRate)
            {
                human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cache: {result.CacheRows:N0} hot rows per table, hit rate {hitRate:P1}; rows pulled {result.RowsPulled:N0}, pushed {result.RowsPushed:N0} ({(double)result.RowsPulled / Math.Max(1, result.Steps):F0} pulled per step)"));
            }

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

    /// <summary>What a rating job whose tables exist resumes from (one line), or null when they do not exist.</summary>
    internal static async Task<string?> ResumedFrom(Client.ParameterServerClient ps, string prefix)
    {
        string itemTable = RatingTables.ItemTable(prefix);
        if (!(await ps.ListTablesAsync()).Contains(itemTable))
        {
            return null;
        }

        var items = await ps.DescribeAsync(itemTable);
        var users = await ps.DescribeAsync(RatingTables.UserTable(prefix));
        items.Metadata.TryGetValue("model", out string? storedModel);
        items.Metadata.TryGetValue("mean", out string? mean);
        return string.Create(CultureInfo.InvariantCulture,
            $"resuming: tables '{prefix}.*' exist (model {storedModel ?? "?"}, {users.Rows:N0} users and {items.Rows:N0} items with {items.OptimizerSteps + users.OptimizerSteps:N0} optimizer steps, mean {mean ?? "?"}); training continues from their rows (--fresh drops them first)");
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
