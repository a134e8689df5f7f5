using System.CommandLine;
using System.Globalization;
using System.Text;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;

namespace ParameterServer.Worker.Commands;

/// <summary><c>embed predict</c>: predictions of a trained model for (user, item) pairs.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var pairs = new Option<FileInfo>("--pairs") { Description = "CSV with a header whose first two columns are userId,movieId (more columns are ignored).", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Output CSV: userId,movieId,prediction for every input row.", Required = true };
        var model = new Option<string?>("--model") { Description = "Expected model (dot, dot-bias, mf); the model recorded with the tables is used, this only checks it." };
        var prefix = CommonOptions.TablePrefix();
        var cluster = CommonOptions.Cluster();
        var command = new Command("predict", "Predict ratings for (user, item) pairs with the tables of a trained model (same --table-prefix and --cluster as the training job).")
        {
            pairs, output, model, prefix, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            RatingModelKind? expected = p.GetValue(model) is { } m ? RatingModel.ParseKind(m) : null;
            var input = RatingsReader.Read(p.GetValue(pairs)!.FullName, new RatingsReaderOptions { UserColumn = "0", ItemColumn = "1", RatingColumn = "0" });
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            if (connection.Embedded)
            {
                Console.Error.WriteLine("note: the embedded silo starts empty; predictions need the tables of a running cluster (--cluster) trained by embed train.");
            }

            var tables = await RatingTables.OpenAsync(connection.Client, p.GetValue(prefix)!, expected);
            var predictions = await RatingTrainer.PredictAsync(tables, input);
            var sb = new StringBuilder("userId,movieId,prediction\n");
            for (int i = 0; i < input.Count; i++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{input.Users[i]},{input.Items[i]},{predictions[i]:R}\n");
            }

            await File.WriteAllTextAsync(p.GetValue(output)!.FullName, sb.ToString(), ct);
            Console.WriteLine($"predict: {input.Count:N0} predictions written to {p.GetValue(output)!.FullName}");
            return 0;
        });
        return command;
    }
}
