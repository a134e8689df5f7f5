using System.Globalization;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;

namespace ParameterServer.Worker.Commands;

/// <summary>Runs a training job and prints one line per epoch.</summary>
internal static class TrainingConsole
{
    public static async Task<TrainingReport> RunAsync(ClusterConnection connection, TrainingOptions options, Ratings train, Ratings validation, double? noiseFloor, CancellationToken ct)
    {
        var trainer = new RatingTrainer(connection.Client, options);
        string floor = noiseFloor is { } f ? "  (noise floor " + f.ToString("F4", CultureInfo.InvariantCulture) + ")" : "";
        Console.WriteLine($"{"epoch",5} {"train loss",11} {"valid RMSE",11} {"samples/s",11} {"seconds",8}");
        trainer.EpochFinished += e => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{e.Epoch,5} {e.TrainLoss,11:F4} {e.ValidationRmse,11:F4} {e.SamplesPerSecond,11:N0} {e.Seconds,8:F2}{floor}"));
        var report = await trainer.TrainAsync(train, validation, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best epoch {report.BestEpoch}: validation RMSE {report.ValidationRmse:F4}; {report.SamplesPerSecond:N0} samples/s; {report.WallSeconds:F1} s wall"));
        foreach (var table in await connection.Client.ListTablesAsync())
        {
            if (!table.StartsWith(options.TablePrefix + ".", StringComparison.Ordinal))
            {
                continue;
            }

            var info = await connection.Client.DescribeAsync(table);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"table {table}: {info.Rows:N0} rows, {info.Bytes / 1048576.0:F1} MiB, {info.OptimizerSteps:N0} row updates"));
        }

        return report;
    }
}
