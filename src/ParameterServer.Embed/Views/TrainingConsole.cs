using ParameterServer.Client.Training;
using ParameterServer.Core.Data;

namespace ParameterServer.Embed.Views;

/// <summary>Runs a training job and shows it through a <see cref="TrainingView"/>: one line per epoch, then a summary.</summary>
internal static class TrainingConsole
{
    public static Task<TrainingReport> RunAsync(ClusterConnection connection, TrainingOptions options, Ratings train, Ratings validation, TrainingView view, CancellationToken ct)
    {
        var trainer = new RatingTrainer(connection.Client, options);
        view.MaxEpochs = options.Epochs;
        trainer.EpochFinished += view.OnEpoch;
        trainer.Progress += view.OnProgress;
        return RunAsync(connection, options.TablePrefix, train.Count, view, () => trainer.TrainAsync(train, validation, ct));
    }

    /// <summary>
    /// A job on scratch tables (a fold of <c>embed cv</c>, a trial of <c>embed tune</c>): trained quietly, and its
    /// tables and histories dropped afterwards, whether it trained or failed.
    /// </summary>
    public static async Task<TrainingReport> RunScratchAsync(ClusterConnection connection, TrainingOptions options, Ratings train, Ratings validation, CancellationToken ct)
    {
        try
        {
            return await RunAsync(connection, options with { Fresh = true }, train, validation, TrainingView.ForStdout(json: true, noiseFloor: null), ct);
        }
        finally
        {
            await connection.Client.DropPrefixAsync(options.TablePrefix);
        }
    }

    public static Task<TrainingReport> RunAsync(ClusterConnection connection, TrainingOptions options, TabularOptions tabular, TabularData train, TabularData validation, TrainingView view, CancellationToken ct)
    {
        var trainer = new TabularTrainer(connection.Client, options, tabular);
        view.MaxEpochs = options.Epochs;
        trainer.EpochFinished += view.OnEpoch;
        trainer.Progress += view.OnProgress;
        return RunAsync(connection, options.TablePrefix, train.Count, view, () => trainer.TrainAsync(train, validation, ct));
    }

    /// <summary>Runs <paramref name="train"/> under the view, then shows the report and the tables under <paramref name="tablePrefix"/>.</summary>
    private static async Task<TrainingReport> RunAsync(ClusterConnection connection, string tablePrefix, long samplesPerEpoch, TrainingView view, Func<Task<TrainingReport>> train)
    {
        var report = await view.RunAsync(samplesPerEpoch, train);
        var tables = new List<TableFigures>();
        foreach (var table in await connection.Client.ListTablesAsync())
        {
            if (!table.StartsWith(tablePrefix + ".", StringComparison.Ordinal))
            {
                continue;
            }

            var info = await connection.Client.DescribeAsync(table);
            tables.Add(new TableFigures(table, info.Rows, info.Bytes, info.OptimizerSteps));
        }

        view.Summary(report, tables);
        return report;
    }
}
