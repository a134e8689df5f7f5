using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ParameterServer.Client;
using ParameterServer.Client.Query;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using ParameterServer.Embed.Options;
using ParameterServer.Embed.Views;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed demo</c>: synthetic MovieLens-like data with planted factors, trained on an embedded silo.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var users = new Option<int>("--users") { Description = "Synthetic users.", DefaultValueFactory = _ => 2000 };
        var items = new Option<int>("--items") { Description = "Synthetic items.", DefaultValueFactory = _ => 1000 };
        var count = new Option<int>("--ratings") { Description = "Synthetic ratings.", DefaultValueFactory = _ => 500_000 };
        var noise = new Option<float>("--noise") { Description = "Rating noise standard deviation: the RMSE floor.", DefaultValueFactory = _ => 0.5f };
        var epochs = new Option<int>("--epochs") { Description = "Most epochs.", DefaultValueFactory = _ => 20 };
        var workers = new Option<int>("--workers") { Description = "Concurrent worker loops.", DefaultValueFactory = _ => 2 };
        var wd = new Option<float>("--weight-decay") { Description = "L2 weight decay of touched rows.", DefaultValueFactory = _ => 0.05f };
        var lr = new Option<float>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 0.005f };
        var seed = new Option<int>("--seed") { Description = "Seed of data, split and training.", DefaultValueFactory = _ => 7 };
        var cluster = CommonOptions.Cluster();
        var command = new Command("demo", "Generate MovieLens-like ratings with planted latent factors, train an mf model on an embedded silo (or --cluster), and print validation RMSE per epoch against the noise floor.")
        {
            users, items, count, noise, epochs, workers, lr, wd, seed, cluster,
        };
        var telemetry = CommonOptions.Telemetry();
        telemetry.AddTo(command);
        command.SetAction(async (p, ct) =>
        {
            var wall = Stopwatch.StartNew();
            TrainingPathCompiler.Start(); // while the data is generated and the silo starts
            await using var exporters = await telemetry.Start(p);
            var settings = new SyntheticSettings(p.GetValue(users), p.GetValue(items), p.GetValue(count), LatentDim: 8, Noise: p.GetValue(noise), Clusters: 8, Seed: p.GetValue(seed));
            var data = SyntheticRatings.Generate(settings);
            var (train, valid) = data.Data.Split(0.2, settings.Seed);
            Console.WriteLine($"demo: {settings.Count:N0} synthetic ratings ({settings.Users:N0} users x {settings.Items:N0} items, planted dim {settings.LatentDim}, noise {settings.Noise.ToString(CultureInfo.InvariantCulture)}); train {train.Count:N0}, validation {valid.Count:N0}");
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            var options = DemoTraining(p.GetValue(epochs), p.GetValue(workers), settings.Seed) with { LearningRate = p.GetValue(lr), WeightDecay = p.GetValue(wd) };
            Console.WriteLine($"cluster: {connection.Description}; model mf, dim {options.Dim}, adam, batch {options.BatchSize}, workers {options.Workers}");
            var report = await TrainingConsole.RunAsync(connection, options, train, valid, TrainingView.ForStdout(json: false, settings.Noise), ct);
            double ratio = report.ValidationRmse / settings.Noise;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"validation RMSE {report.ValidationRmse:F4} is {ratio:F3}x the noise floor {settings.Noise:F2}"));
            await ShowNeighboursAsync(connection.Client, options.TablePrefix, data.ItemCluster);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"demo took {wall.Elapsed.TotalSeconds:F1} s"));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Labels every item with its planted group, prints the nearest neighbours of three items, and the share of
    /// same-group items among every item's 10 nearest (chance is about one in the number of groups).
    /// </summary>
    private static async Task ShowNeighboursAsync(ParameterServerClient ps, string prefix, int[] itemCluster)
    {
        var tables = await RatingTables.OpenAsync(ps, prefix);
        var groups = new Dictionary<long, int>();
        var labels = new Dictionary<long, string>();
        for (int i = 0; i < itemCluster.Length; i++)
        {
            groups[i + 1] = itemCluster[i];
            labels[i + 1] = string.Create(CultureInfo.InvariantCulture, $"item {i + 1} (group {itemCluster[i]})");
        }

        await ps.SetLabelsAsync(tables.Items, labels);
        var query = new QueryClient(ps);
        foreach (long id in new long[] { 1, 2, 3 })
        {
            var answer = await query.NearestAsync(tables.Items.Spec.Name, QueryTarget.ById(id), 5, SimilarityMetric.Cosine, excludeSelf: true);
            int same = answer.Hits.Count(h => groups[h.Id] == groups[id]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"nearest to {answer.QueryLabel} by cosine ({same}/{answer.Hits.Length} in its group):"));
            foreach (var h in answer.Hits)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {h.Rank,2}. {h.Label,-24} {h.Score,7:F4}"));
            }
        }

        double agreement = await NeighbourAgreement.MeasureAsync(ps, tables.Items.Spec.Name, groups, 10, SimilarityMetric.Cosine);
        double chance = itemCluster.GroupBy(c => c).Sum(g => Math.Pow((double)g.Count() / itemCluster.Length, 2));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"items whose 10 nearest share their planted group: {agreement:P1} on average over {itemCluster.Length:N0} items (chance {chance:P1})"));
    }

    /// <summary>The demo's training settings; EndToEndTrainingTests trains with the same ones.</summary>
    internal static TrainingOptions DemoTraining(int epochs, int workers, int seed) => new()
    {
        Model = RatingModelKind.Mf,
        Dim = 16,
        Epochs = epochs,
        BatchSize = 1024,
        Optimizer = OptimizerKind.Adam,
        LearningRate = 0.005f,
        WeightDecay = 0.05f,
        Workers = workers,
        Seed = seed,
        TablePrefix = "demo",
    };
}
