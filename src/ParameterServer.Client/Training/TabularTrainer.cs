using System.Diagnostics;
using ParameterServer.Core.Data;
using ParameterServer.Core.Metrics;
using ParameterServer.Core.Models;

namespace ParameterServer.Client.Training;

/// <summary>
/// Trains entity embeddings of categorical columns with a dense head through the parameter server (see
/// <see cref="TabularTables"/> and <see cref="TabularModel"/>), with the minibatches, worker loops, staleness window
/// and early stopping every job has (<see cref="EpochDriver"/>). Numeric columns are standardized with the training
/// split's mean and standard deviation. Regression reports validation RMSE (predictions clipped to the training
/// targets' range); a binary task reports log loss (which decides early stopping), accuracy, AUC and the RMSE of its
/// probabilities. Everything is checked before the first table is created, so bad input changes nothing.
/// </summary>
public sealed class TabularTrainer : Trainer
{
    /// <summary>The model's name on the command line and in reports.</summary>
    public const string ModelName = "tabular";

    private readonly TabularOptions _tabular;

    /// <summary>Creates a trainer.</summary>
    public TabularTrainer(ParameterServerClient ps, TrainingOptions options, TabularOptions tabular)
        : base(ps, options)
    {
        _tabular = tabular ?? throw new ArgumentNullException(nameof(tabular));
    }

    /// <summary>Runs the job and returns its report; the tables keep the best epoch's rows and the values' labels.</summary>
    public async Task<TrainingReport> TrainAsync(TabularData train, TabularData validation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        var schema = train.Schema;
        _tabular.Validate(schema, Options.TablePrefix);
        if (validation.Schema != schema)
        {
            throw new ArgumentException("The training and validation sets have different columns.");
        }

        if (train.Count == 0 || validation.Count == 0)
        {
            throw new ArgumentException($"The {(train.Count == 0 ? "training" : "validation")} set is empty; a tabular job needs rows in both (see --validation).");
        }

        if (schema.Task == TabularTask.Binary)
        {
            CheckBinary(train, "training");
            CheckBinary(validation, "validation");
        }

        return await EpochDriver.PublishedAsync(Ps, Options.TablePrefix, $"{ModelName} {TabularSchema.NameOf(schema.Task)}, {schema.Categorical.Count} categorical and {schema.Numeric.Count} numeric columns, {train.Count} training samples", events => TrainCoreAsync(train, validation, events, cancellationToken));
    }

    private async Task<TrainingReport> TrainCoreAsync(TabularData train, TabularData validation, TrainingEventPublisher events, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var o = Options;
        var schema = train.Schema;
        var scaling = train.NumericMoments();
        train = train.Standardized(scaling);
        validation = validation.Standardized(scaling);
        var (mean, min, max) = train.TargetSummary();
        var model = new TabularModel(schema, _tabular.Hidden, Offset(schema.Task, mean));
        var tables = await TabularTables.CreateAsync(Ps, o, _tabular, model, scaling, min, max);
        var result = await RunEpochsAsync(
            [.. tables.All],
            train.Count,
            () => new TabularBatch(tables, train, o.BatchSize),
            _ => EvaluateAsync(tables, validation, Math.Max(o.BatchSize, 4096)),
            events,
            cancellationToken);
        for (int c = 0; c < tables.Columns.Count; c++)
        {
            await Ps.SetLabelsAsync(tables.Columns[c], train.Labels[c]);
        }

        return result.ToReport(ModelName, model.InputWidth, o, train.Count, validation.Count, wall.Elapsed) with { Task = TabularSchema.NameOf(schema.Task) };
    }

    /// <summary>
    /// The validation figures of the tables on <paramref name="standardized"/> (numeric columns standardized):
    /// RMSE for regression; log loss, accuracy, AUC and the RMSE of the probabilities for a binary task.
    /// </summary>
    internal static async Task<ValidationFigures> EvaluateAsync(TabularTables tables, TabularData standardized, int batchSize = 4096)
    {
        var outputs = await PredictStandardizedAsync(tables, standardized, batchSize);
        double rmse = RmseAccumulator.Between(outputs, standardized.Targets);
        if (tables.Model.Task != TabularTask.Binary)
        {
            return new ValidationFigures(rmse);
        }

        return new ValidationFigures(rmse, BinaryMetrics.LogLoss(outputs, standardized.Targets), BinaryMetrics.Accuracy(outputs, standardized.Targets), BinaryMetrics.Auc(outputs, standardized.Targets));
    }

    /// <summary>
    /// The model's outputs for every row of <paramref name="data"/> (its numeric columns as read; the tables'
    /// <see cref="TabularTables.Scaling"/> standardizes them): predictions clipped to the training targets' range
    /// (regression) or probabilities of 1 (binary).
    /// </summary>
    public static Task<float[]> PredictAsync(TabularTables tables, TabularData data, int batchSize = 4096)
    {
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(data);
        return PredictStandardizedAsync(tables, data.Standardized(tables.Scaling), batchSize);
    }

    private static async Task<float[]> PredictStandardizedAsync(TabularTables tables, TabularData data, int batchSize)
    {
        var result = new float[data.Count];
        var batch = new TabularBatch(tables, data, Math.Min(batchSize, Math.Max(1, data.Count)));
        await InBatchesAsync(data.Count, batchSize, async (samples, start) =>
        {
            batch.Load(samples);
            await batch.PullAsync();
            batch.Predict(result.AsSpan(start, samples.Count));
        });
        if (tables.Model.Task == TabularTask.Regression)
        {
            for (int k = 0; k < result.Length; k++)
            {
                result[k] = Math.Clamp(result[k], tables.TargetMin, tables.TargetMax);
            }
        }

        return result;
    }

    /// <summary>The output offset: the target mean, or the log-odds of the base rate (kept off 0 and 1).</summary>
    private static float Offset(TabularTask task, float mean)
    {
        if (task != TabularTask.Binary)
        {
            return mean;
        }

        double p = Math.Clamp(mean, 1e-4, 1 - 1e-4);
        return (float)Math.Log(p / (1 - p));
    }

    private static void CheckBinary(TabularData data, string split)
    {
        int bad = Array.FindIndex(data.Targets, y => y is not (0f or 1f));
        if (bad >= 0)
        {
            throw new ArgumentException($"The {split} set's target '{data.Schema.Target}' of row {bad} is {data.Targets[bad]}; a binary task needs 0 or 1.");
        }
    }
}
