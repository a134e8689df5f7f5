using System.CommandLine;
using System.Globalization;
using System.Text;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed predict</c>: predictions of a trained model for (user, item) pairs.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var pairs = new Option<FileInfo>("--pairs") { Description = "CSV with a header whose first two columns are userId,movieId (more columns are ignored).", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Output CSV: userId,movieId,prediction for every input row.", Required = true };
        var model = new Option<string?>("--model") { Description = "Expected model (dot, dot-bias, mf); the model recorded with the tables is used, this only checks it." };
        var skipUnknown = new Option<bool>("--skip-unknown") { Description = "Leave out pairs whose user or item the tables do not have (without it, such pairs are an error). No row is ever created." };
        var prefix = CommonOptions.TablePrefix();
        var cluster = CommonOptions.Cluster();
        var command = new Command("predict", "Predict ratings for (user, item) pairs with the tables of a trained model (same --table-prefix and --cluster as the training job).")
        {
            pairs, output, model, skipUnknown, prefix, cluster,
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
            // Reads only: a pair whose user or item has no row is reported, never given a fresh random row.
            var (predictions, known) = await RatingTrainer.PredictExistingAsync(connection.Client, tables, input);
            int unknown = known.Count(k => !k);
            if (unknown > 0 && !p.GetValue(skipUnknown))
            {
                int first = Array.IndexOf(known, false);
                throw new KeyNotFoundException(
                    $"{unknown:N0} of {input.Count:N0} pairs name a user or movie the tables '{p.GetValue(prefix)}.*' do not have (first: pair {first + 1}, user {input.Users[first]}, movie {input.Items[first]}); " +
                    "no row was created. --skip-unknown leaves such pairs out; embed foldin adds a new user.");
            }

            var sb = new StringBuilder("userId,movieId,prediction\n");
            for (int i = 0; i < input.Count; i++)
            {
                if (known[i])
                {
                    sb.Append(CultureInfo.InvariantCulture, $"{input.Users[i]},{input.Items[i]},{predictions[i]:R}\n");
                }
            }

            await File.WriteAllTextAsync(p.GetValue(output)!.FullName, sb.ToString(), ct);
            Console.WriteLine($"predict: {input.Count - unknown:N0} predictions written to {p.GetValue(output)!.FullName}" +
                (unknown > 0 ? $"; {unknown:N0} pairs with an unknown user or movie left out" : ""));
            return 0;
        });
        return command;
    }
}
