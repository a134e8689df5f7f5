using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Embed.Options;
using ParameterServer.Embed.Plots;
using ParameterServer.Embed.Views;

namespace ParameterServer.Embed.Commands;

/// <summary>
/// <c>embed train --model tabular</c>: the options of the tabular model, added to the train command beside the
/// shared ones (epochs, batch size, optimizer, workers, staleness, seed, patience, shards, prefix, cluster, report,
/// json, plot, validation), which it reads by name.
/// </summary>
internal static class TabularTrainOptions
{
    /// <summary>Default L2 decay of the embedding rows when --weight-decay is not given.</summary>
    public const float DefaultWeightDecay = 0.25f;

    /// <summary>Default table prefix of a tabular job when --table-prefix is not given.</summary>
    public const string DefaultPrefix = "tabular";

    /// <summary>
    /// Default standard deviation of a tabular job's initial embedding values when --init-scale is not given:
    /// embeddings that start small let the head learn the target's main effects first (measured on MovieLens,
    /// user, movie and year of rating: validation RMSE 0.01 lower than with the rating models' 0.1).
    /// </summary>
    public const float DefaultInitScale = 0.01f;

    /// <summary>Default Adam learning rate of a tabular job when --lr is not given (other optimizers: as the rating models).</summary>
    public const float DefaultAdamLearningRate = 0.002f;

    /// <summary>Whether <paramref name="model"/> names the tabular model.</summary>
    public static bool Handles(string model) => string.Equals(model?.Trim(), TabularTrainer.ModelName, StringComparison.OrdinalIgnoreCase);

    /// <summary>Adds the tabular options to the train command and says what the model does in its description.</summary>
    public static void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Description += " With --model tabular: entity embeddings of the --categorical columns of --data (each its own table and dim) and its standardized --numeric columns feed a dense ReLU head held in the parameter server too; --task regression (MSE, validation RMSE) or binary (log loss, accuracy, AUC).";
        command.Options.Add(new Option<FileInfo?>("--data") { Description = "Tabular data (--model tabular): a delimited file whose header names the columns. Tabular defaults differ from the rating models' where not given: --table-prefix tabular, --init-scale 0.01, --lr 0.002 with adam; --dim is the dim of --categorical columns given without one." });
        command.Options.Add(new Option<string?>("--categorical") { Description = "Categorical columns and their embedding dims (--model tabular), e.g. userId:32,movieId:32,year:4; a column without :dim gets --dim. Each is a table {prefix}.{column}, keyed by the value's text, labelled with it." });
        command.Options.Add(new Option<string?>("--numeric") { Description = "Numeric columns (--model tabular), e.g. age,income: standardized with the training split's mean and standard deviation." });
        command.Options.Add(new Option<string?>("--target") { Description = "Target column (--model tabular): a number for regression, 0/1 or false/true for binary." });
        command.Options.Add(new Option<string>("--task") { Description = "What --model tabular predicts: regression (squared error, validation RMSE) or binary (log loss; validation log loss, accuracy, AUC).", DefaultValueFactory = _ => "regression" });
        command.Options.Add(new Option<string>("--hidden") { Description = "Hidden layers of the tabular head: 64 or 64,32 (1 or 2 ReLU layers); the head's weights are tables {prefix}.head.1.. and {prefix}.head.bias.", DefaultValueFactory = _ => "64" });
        command.Options.Add(new Option<float>("--head-weight-decay") { Description = "L2 decay of the tabular head's weights (their gradient is the batch mean; --weight-decay, default 0.25, decays the embedding rows).", DefaultValueFactory = _ => 0f });
        command.Options.Add(new Option<string[]>("--derive") { Description = "A column computed while reading --data: name=function(column) with year, month, weekday (0 = Sunday) or hour of a Unix-seconds or ISO-8601 time stamp, e.g. year=year(timestamp). Repeat for more.", AllowMultipleArgumentsPerToken = false });
    }

    /// <summary>Runs a tabular job from the parsed command line.</summary>
    public static async Task<int> RunAsync(ParseResult p, TelemetryOptions telemetry, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(telemetry);
        if (p.GetValue<FileInfo?>("--ratings") is not null || p.GetValue<FileInfo?>("--items") is not null)
        {
            throw new ArgumentException("--ratings and --items belong to the rating models; --model tabular reads --data.");
        }

        var dataFile = p.GetValue<FileInfo?>("--data") ?? throw new ArgumentException("--data is required for model tabular.");
        var schema = new TabularSchema
        {
            Categorical = TabularSchema.ParseCategorical(p.GetValue<string?>("--categorical"), p.GetValue<int>("--dim")),
            Numeric = TabularSchema.ParseNumeric(p.GetValue<string?>("--numeric")),
            Target = p.GetValue<string?>("--target") ?? throw new ArgumentException("--target is required for model tabular."),
            Task = TabularSchema.ParseTask(p.GetValue<string>("--task")),
        };
        var tabular = new TabularOptions
        {
            Hidden = TabularModel.ParseHidden(p.GetValue<string>("--hidden")),
            HeadWeightDecay = p.GetValue<float>("--head-weight-decay"),
        };
        var opt = OptimizerSettings.ParseKind(p.GetValue<string>("--optimizer")!);
        var options = new TrainingOptions
        {
            Dim = p.GetValue<int>("--dim"),
            Epochs = p.GetValue<int>("--epochs"),
            BatchSize = p.GetValue<int>("--batch-size"),
            Optimizer = opt,
            LearningRate = p.GetValue<float?>("--lr") ?? (opt == OptimizerKind.Adam ? DefaultAdamLearningRate : TrainCommand.DefaultLearningRate(opt)),
            WeightDecay = p.GetValue<float?>("--weight-decay") ?? DefaultWeightDecay,
            InitScale = Given(p, "--init-scale") ? p.GetValue<float>("--init-scale") : DefaultInitScale,
            Workers = p.GetValue<int>("--workers"),
            Staleness = p.GetValue<int>("--staleness"),
            WorkerIndex = p.GetValue<int>("--worker-index"),
            WorkerCount = p.GetValue<int>("--worker-count"),
            Seed = p.GetValue<int>("--seed"),
            Patience = p.GetValue<int>("--patience"),
            Shards = p.GetValue<int>("--shards"),
            TablePrefix = Given(p, "--table-prefix") ? p.GetValue<string>("--table-prefix")! : DefaultPrefix,
        };
        options.Validate();
        tabular.Validate(schema, options.TablePrefix);
        var readerOptions = new TabularReaderOptions
        {
            Schema = schema,
            Derived = [.. (p.GetValue<string[]>("--derive") ?? []).Select(DerivedColumn.Parse)],
            Delimiter = TrainCommand.ParseDelimiter(p.GetValue<string>("--delimiter")!),
            HasHeader = !p.GetValue<bool>("--no-header"),
            SkipBadRows = p.GetValue<bool>("--skip-bad-rows"),
        };
        bool asJson = p.GetValue<bool>("--json");
        var human = asJson ? TextWriter.Null : Console.Out;
        var plot = p.GetValue<FileInfo?>("--plot");
        if (plot is not null)
        {
            CurvePlot.CheckTarget(plot.FullName);
        }

        var data = TabularReader.Read(dataFile.FullName, readerOptions);
        var (train, valid) = p.GetValue<FileInfo?>("--validation-file") is { } vf
            ? (data, TabularReader.Read(vf.FullName, readerOptions))
            : data.Split(p.GetValue<double>("--validation"), options.Seed);
        human.WriteLine($"data: {data.Count:N0} rows{(data.SkippedRows > 0 ? $" ({data.SkippedRows} malformed lines skipped)" : "")}; train {train.Count:N0}, validation {valid.Count:N0}; "
            + string.Join(", ", schema.Categorical.Select((c, i) => $"{c.Name}:{c.Dim} ({data.Labels[i].Count:N0} values)")) + (schema.Numeric.Count > 0 ? "; numeric " + string.Join(", ", schema.Numeric) : ""));
        await using var exporters = await telemetry.Start(p);
        await using var connection = await ClusterConnection.StartAsync(p.GetValue<string?>("--cluster"), ct);
        if (exporters.Description is { } served)
        {
            human.WriteLine($"telemetry: {served}");
        }

        human.WriteLine($"cluster: {connection.Description}; model tabular {TabularSchema.NameOf(schema.Task)}, input {schema.InputWidth}, hidden {string.Join(",", tabular.Hidden)}, {opt.ToString().ToLowerInvariant()} lr {Invariant(options.LearningRate)}, weight decay {Invariant(options.WeightDecay)} (head {Invariant(tabular.HeadWeightDecay)}), batch {options.BatchSize}, workers {options.Workers}, staleness {options.Staleness}");
        var result = await TrainingConsole.RunAsync(connection, options, tabular, train, valid, TrainingView.ForStdout(asJson, noiseFloor: null), ct);
        result = result with { Cluster = connection.Description };
        if (p.GetValue<FileInfo?>("--report") is { } reportFile)
        {
            await File.WriteAllTextAsync(reportFile.FullName, ReportJson.Serialize(result, indented: true), ct);
            human.WriteLine($"report: {reportFile.FullName}");
        }

        if (plot is not null)
        {
            PlotCommand.SaveCurve(result, plot.FullName, CurvePlot.DefaultWidth, CurvePlot.DefaultHeight, human);
        }

        if (asJson)
        {
            Console.WriteLine(ReportJson.Serialize(result, indented: false));
        }

        return 0;
    }

    /// <summary>Whether the command line gave <paramref name="option"/> (rather than its default).</summary>
    private static bool Given(ParseResult p, string option) => p.GetResult(option) is OptionResult { Implicit: false };

    private static string Invariant(float value) => value.ToString(CultureInfo.InvariantCulture);
}
