using System.CommandLine;
using System.Globalization;
using System.Numerics.Tensors;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed foldin</c>: adds a new user to a trained rating model from their ratings, without retraining.</summary>
internal static class FoldInCommand
{
    public static Command Create()
    {
        var user = new Option<long>("--user") { Description = "Id of the new user.", Required = true };
        var ratings = new Option<string?>("--ratings") { Description = "The user's ratings inline: \"movieId:rating,movieId:rating,...\", e.g. \"1:4.5,296:3,2571:5\"." };
        var file = new Option<FileInfo?>("--ratings-file") { Description = "The user's ratings from a file in the MovieLens layout (userId,movieId,rating with a header); the rows of --user are used, others ignored." };
        var steps = new Option<int>("--steps") { Description = "Most Gauss-Newton steps for dot-bias (mf and dot are solved in closed form).", DefaultValueFactory = _ => FoldInSolver.DefaultSteps };
        var l2 = new Option<double?>("--l2") { Description = "L2 weight λ on the user's vector and bias. Default: the one that matches training's weight decay, which applies at every step that touches a row: the user table's decay times the steps of an epoch that would hold one of the user's n ratings, B(1-(1-1/B)^n) for the B batches per epoch embed train recorded (n when not recorded)." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the user's row when the user already has one." };
        var skipUnknown = new Option<bool>("--skip-unknown") { Description = "Leave out rated movies the model was not trained on (they are listed) instead of stopping." };
        var prefix = CommonOptions.TablePrefix();
        var cluster = CommonOptions.Cluster();
        var command = new Command("foldin", "Fold a new user into a trained model: fit the user's vector (and bias for mf and dot-bias) against the frozen item rows, which stay unchanged (mf and dot: ridge least squares in closed form; dot-bias: Gauss-Newton), then store it in {prefix}.users and {prefix}.user_bias. embed recommend --user then answers for the user.")
        {
            user, ratings, file, steps, l2, overwrite, skipUnknown, prefix, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            long id = p.GetValue(user);
            var (items, values) = (p.GetValue(ratings), p.GetValue(file)) switch
            {
                ({ } text, null) => RatingPairs.Parse(text),
                (null, { } f) => FromFile(f.FullName, id),
                _ => throw new ArgumentException("Give exactly one of --ratings or --ratings-file."),
            };
            var options = new FoldInOptions { L2 = p.GetValue(l2), Steps = p.GetValue(steps), Overwrite = p.GetValue(overwrite), SkipUnknown = p.GetValue(skipUnknown) };
            options.Validate();
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            string tables = p.GetValue(prefix)!;
            var r = await QueryCommand.WithEmbeddedHint(connection, () => UserFoldIn.FoldInAsync(connection.Client, tables, id, items, values, options));
            if (r.Skipped.Count > 0)
            {
                Console.WriteLine($"foldin: {r.Skipped.Count} rated movie(s) the model was not trained on left out: {string.Join(", ", r.Skipped.Take(20))}{(r.Skipped.Count > 20 ? ", ..." : "")}");
            }

            string bias = r.Model == RatingModelKind.Dot ? "" : string.Create(CultureInfo.InvariantCulture, $", b_u {r.Bias:F4} in {tables}.user_bias");
            string solved = r.Model == RatingModelKind.DotBias ? $"Gauss-Newton, {r.Iterations} steps" : "closed form";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"foldin: user {r.User} {(r.Replaced ? "replaced" : "added")} from {r.Ratings} ratings ({RatingModel.NameOf(r.Model)}, {solved}, λ {r.Lambda:G4}): RMSE {r.TrainRmse:F4} on those ratings; |u| {TensorPrimitives.Norm(r.Vector):F4} in {r.UserTable}{bias}"));
            Console.WriteLine($"embed recommend --user {r.User} --table-prefix {tables} now answers for this user.");
            return 0;
        });
        return command;
    }

    /// <summary>The ratings of <paramref name="user"/> in a MovieLens-layout file.</summary>
    internal static (long[] Items, float[] Ratings) FromFile(string path, long user)
    {
        var all = RatingsReader.Read(path, new RatingsReaderOptions());
        var items = new List<long>();
        var values = new List<float>();
        for (int i = 0; i < all.Count; i++)
        {
            if (all.Users[i] == user)
            {
                items.Add(all.Items[i]);
                values.Add(all.Values[i]);
            }
        }

        if (items.Count == 0)
        {
            throw new ArgumentException($"{path} holds no ratings of user {user} ({all.Count:N0} ratings of other users).");
        }

        return ([.. items], [.. values]);
    }
}
