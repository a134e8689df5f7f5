using ParameterServer.Client.Training;
using ParameterServer.Core.Data;

namespace ParameterServer.Worker.Commands;

/// <summary>Runs a training job and shows it through a <see cref="TrainingView"/>: one line per epoch, then a summary.</summary>
internal static class TrainingConsole
{
    public static async Task<TrainingReport> RunAsync(ClusterConnection connection, TrainingOptions options, Ratings train, Ratings validation, TrainingView view, CancellationToken ct)
    {
        var trainer = new RatingTrainer(connection.Client, options);
        trainer.EpochFinished += view.OnEpoch;
        trainer.Progress += view.OnProgress;
        var report = await view.RunAsync(train.Count, () => trainer.TrainAsync(train, validation, ct));
        var tables = new List<TableFigures>();
        foreach (var table in await connection.Client.ListTablesAsync())
        {
            if (!table.StartsWith(options.TablePrefix + ".", StringComparison.Ordinal))
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
