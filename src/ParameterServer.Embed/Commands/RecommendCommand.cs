using System.CommandLine;
using System.Text.Json;
using ParameterServer.Client.Query;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed recommend</c>: the items a trained rating model scores highest for a user.</summary>
internal static class RecommendCommand
{
    public static Command Create()
    {
        var user = new Option<long>("--user") { Description = "User id (as in the training ratings).", Required = true };
        var ratings = new Option<FileInfo?>("--ratings") { Description = "Ratings file (MovieLens layout: userId,movieId,rating with a header); the items this user rated there are left out too. Without it, the items the user rated in training or was folded in with are left out already: the silo remembers them." };
        var k = QueryCommand.TopK();
        var minUpdates = QueryCommand.MinUpdates();
        var minRatings = QueryCommand.MinRatings();
        var json = QueryCommand.Json();
        var prefix = CommonOptions.TablePrefix();
        var cluster = CommonOptions.Cluster();
        var command = new Command("recommend", "Recommend items for a user: the user's vector scored by dot product against every item row, plus the item bias for mf and dot-bias (exact, over every shard), with the predicted rating.")
        {
            user, ratings, k, minUpdates, minRatings, json, prefix, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            int top = QueryCommand.CheckK(p.GetValue(k));
            long userId = p.GetValue(user);
            var seen = new HashSet<long>();
            if (p.GetValue(ratings) is { } file)
            {
                var data = RatingsReader.Read(file.FullName, new RatingsReaderOptions());
                for (int i = 0; i < data.Count; i++)
                {
                    if (data.Users[i] == userId)
                    {
                        seen.Add(data.Items[i]);
                    }
                }
            }

            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            long minCount = await QueryCommand.ResolveMinRatings(connection.Client, Client.Training.RatingTables.ItemTable(p.GetValue(prefix)!), p.GetValue(minRatings));
            var rec = await QueryCommand.WithEmbeddedHint(connection, () => Recommender.RecommendAsync(connection.Client, p.GetValue(prefix)!, userId, top, seen, QueryCommand.CheckMinUpdates(p.GetValue(minUpdates)), minCount));
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    user = rec.User,
                    model = RatingModel.NameOf(rec.Model),
                    excluded = rec.Excluded,
                    items = rec.Hits.Select((h, i) => new { rank = h.Rank, id = h.Id, predicted = rec.Predicted[i], predicted_unclipped = rec.Unclipped[i], score = h.Score, label = h.Label }),
                }));
                return 0;
            }

            Console.WriteLine($"recommendations for user {userId} ({RatingModel.NameOf(rec.Model)} model; {rec.Excluded:N0} items the user rated or was folded in with left out); score = u·v{(rec.Model == RatingModelKind.Dot ? "" : " + b_i")}:");
            // Unclipped: items the model puts above the top rating keep their order instead of all reading the maximum.
            QueryCommand.PrintHits(rec.Hits, rec.Unclipped, rec.Model == RatingModelKind.Bpr ? "score" : "predicted");
            if (rec.Unclipped.Zip(rec.Predicted).Any(x => x.First != x.Second))
            {
                Console.WriteLine("(predictions past the rating range are shown unclipped: they rank the items; as a rating they would read the range's end)");
            }

            if (QueryCommand.MinRatingsNote(p.GetValue(minRatings), minCount) is { } note)
            {
                Console.WriteLine(note);
            }
            return 0;
        });
        return command;
    }
}
