using ParameterServer.Client.Query;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;


namespace ParameterServer.Client.Tests;

[Collection(ClusterCollection.Name)]
public sealed class EndToEndTrainingTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Bpr_on_implicit_feedback_ranks_better_than_most_popular_on_the_same_split()
    {
        var settings = new SyntheticSettings(Users: 1500, Items: 800, Count: 150_000, LatentDim: 8, Noise: 0.3f, Clusters: 8, Seed: 11);
        var data = SyntheticRatings.Generate(settings).Data;
        var (train, valid) = data.Split(0.2, 11);
        var options = new TrainingOptions
        {
            Model = RatingModelKind.Bpr,
            Dim = 16,
            Epochs = 15,
            Optimizer = OptimizerKind.Adam,
            LearningRate = 0.01f,
            WeightDecay = 0.05f,
            Seed = 11,
            TablePrefix = "e2e-bpr",
            Fresh = true,
            // The interactions: ratings above the mean.
            RelevantThreshold = data.Values.Average(),
        };
        var report = await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);

        int positives = train.Values.Count(v => v >= options.RelevantThreshold);
        Assert.Equal(positives, report.TrainSamples);
        Assert.True(double.IsNaN(report.ValidationRmse));
        Assert.All(report.Epochs, e => Assert.NotNull(e.ValidationNdcg));
        var ranking = Assert.IsType<RankingReport>(report.Ranking);
        Assert.Equal(report.ValidationNdcg!.Value, ranking.Model.Ndcg, 1e-9);
        Assert.True(ranking.Model.Ndcg > 1.2 * ranking.MostPopular.Ndcg, $"bpr NDCG@10 {ranking.Model.Ndcg} vs most popular {ranking.MostPopular.Ndcg}");
        var foldIn = await Assert.ThrowsAsync<ArgumentException>(() => UserFoldIn.FoldInAsync(fixture.Client, "e2e-bpr", 1, [1], [5f]));
        Assert.Contains("bpr", foldIn.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Synthetic_data_trains_to_within_ten_percent_of_the_noise_floor()
    {
        var settings = new SyntheticSettings(Users: 2000, Items: 1000, Count: 500_000, LatentDim: 8, Noise: 0.5f, Clusters: 8, Seed: 7);
        var (train, valid) = SyntheticRatings.Generate(settings).Data.Split(0.2, 7);
        var options = new TrainingOptions
        {
            Model = RatingModelKind.Mf,
            Dim = 16,
            Epochs = 20,
            Optimizer = OptimizerKind.Adam,
            LearningRate = 0.005f,
            WeightDecay = 0.05f,
            Workers = 2,
            Staleness = 2,
            Seed = 7,
            TablePrefix = "e2e-synthetic",
            // Relevant: above the mean rating (the synthetic scale is not 0.5..5).
            RelevantThreshold = valid.Values.Average(),
        };
        var report = await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);

        Assert.InRange(report.ValidationRmse, settings.Noise * 0.9, settings.Noise * 1.1);
        Assert.Equal(report.Epochs.Min(e => e.ValidationRmse), report.ValidationRmse);

        // The tables hold the best epoch: evaluating them again gives the reported RMSE.
        var tables = await RatingTables.OpenAsync(fixture.Client, "e2e-synthetic");
        double again = await RatingTrainer.EvaluateAsync(tables, valid);
        Assert.Equal(report.ValidationRmse, again, 1e-6);

        // Ranking figures come from the kept rows: evaluating again gives the same; planted factors beat popularity.
        var ranking = Assert.IsType<RankingReport>(report.Ranking);
        Assert.Equal(ranking, await RatingRanking.EvaluateAsync(fixture.Client, tables, train, valid, 10, options.RelevantThreshold, options.RankUsers, options.Seed));
        Assert.InRange(ranking.Users, 1, 2000);
        Assert.All(new[] { ranking.Model.Precision, ranking.Model.Recall, ranking.Model.Ndcg, ranking.Model.Map, ranking.Model.Coverage }, v => Assert.InRange(v, 0, 1));
        Assert.True(ranking.Model.Ndcg > ranking.MostPopular.Ndcg, $"model NDCG@10 {ranking.Model.Ndcg} vs most popular {ranking.MostPopular.Ndcg}");

        // Items drawn around the same planted centroid come out as each other's nearest neighbours (chance ~ 1/8).
        var data = SyntheticRatings.Generate(settings);
        var groups = Enumerable.Range(0, settings.Items).ToDictionary(i => (long)(i + 1), i => data.ItemCluster[i]);
        double agreement = await NeighbourAgreement.MeasureAsync(fixture.Client, tables.Items.Spec.Name, groups, 10, SimilarityMetric.Cosine);
        Assert.True(agreement > 0.8, $"neighbour agreement {agreement:P1}");

        await Recommendations_equal_a_brute_force_ranking_of_the_models_predictions(tables, train, user: 17);
    }

    private async Task Recommendations_equal_a_brute_force_ranking_of_the_models_predictions(RatingTables tables, Ratings train, long user)
    {
        var seen = new HashSet<long>();
        for (int i = 0; i < train.Count; i++)
        {
            if (train.Users[i] == user)
            {
                seen.Add(train.Items[i]);
            }
        }

        var rec = await Recommender.RecommendAsync(fixture.Client, "e2e-synthetic", user, 10, seen);

        // Reference: every item's prediction from rows read back, ranked in double precision.
        long[] items = [.. Enumerable.Range(1, 1000).Select(i => (long)i)];
        var v = new float[items.Length * tables.Items.Dim];
        var bi = new float[items.Length];
        var u = new float[tables.Users.Dim];
        var bu = new float[1];
        await tables.Items.PullAsync(items, v);
        await tables.ItemBias!.PullAsync(items, bi);
        await tables.Users.PullAsync(new long[] { user }, u);
        await tables.UserBias!.PullAsync(new long[] { user }, bu);
        var expected = items.Select((id, i) => (Id: id, Score: BruteForceScore(u, v.AsSpan(i * u.Length, u.Length)) + bi[i]))
            .Where(x => !seen.Contains(x.Id)).OrderByDescending(x => x.Score).ThenBy(x => x.Id).Take(10).ToList();
        Assert.Equal(expected.Select(x => x.Id), rec.Hits.Select(h => h.Id));
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(expected[i].Score, rec.Hits[i].Score, 1e-4);
            float predicted = Math.Clamp(tables.Model.Predict(u, v.AsSpan((int)(expected[i].Id - 1) * u.Length, u.Length), bu[0], bi[expected[i].Id - 1]), tables.Model.Min, tables.Model.Max);
            Assert.Equal(predicted, rec.Predicted[i], 1e-4);
        }

        await Assert.ThrowsAsync<KeyNotFoundException>(() => Recommender.RecommendAsync(fixture.Client, "e2e-synthetic", 999_999, 10, seen));
    }

    private static double BruteForceScore(float[] u, ReadOnlySpan<float> v)
    {
        double s = 0;
        for (int j = 0; j < u.Length; j++)
        {
            s += (double)u[j] * v[j];
        }

        return s;
    }

    [Fact]
    public async Task Seed_001_tokens_nearest_to_the_top_effect_is_the_second_and_farthest_is_the_lowest()
    {
        // 5 tokens with effects linspace(-20, 20, 5), shuffled; y ~ N(effect, 2); model y = u_token · v.
        var rng = new Random(1);
        float[] effects = [-20, -10, 0, 10, 20];
        rng.Shuffle(effects);
        const int n = 5000;
        var users = new long[n];
        var items = new long[n];
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            int token = rng.Next(5);
            users[i] = token;
            items[i] = 0;
            values[i] = effects[token] + (2f * (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())));
        }

        var (train, valid) = new Ratings(users, items, values).Split(0.2, 1);
        var options = new TrainingOptions
        {
            Model = RatingModelKind.Dot,
            Dim = 4,
            Epochs = 60,
            BatchSize = 64,
            Optimizer = OptimizerKind.Adam,
            LearningRate = 0.05f,
            Workers = 1,
            Patience = 60,
            Seed = 1,
            TablePrefix = "seed001",
        };
        var report = await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);
        Assert.InRange(report.ValidationRmse, 0, 3.0);

        var tokens = await fixture.Client.OpenTableAsync("seed001.users");
        var vectors = new float[5 * 4];
        await tokens.PullAsync(new long[] { 0, 1, 2, 3, 4 }, vectors);
        int top = Array.IndexOf(effects, 20f);
        var byDistance = Enumerable.Range(0, 5).Where(t => t != top)
            .OrderBy(t => System.Numerics.Tensors.TensorPrimitives.Distance(vectors.AsSpan(t * 4, 4), vectors.AsSpan(top * 4, 4)))
            .ToArray();
        Assert.Equal(Array.IndexOf(effects, 10f), byDistance[0]);
        Assert.Equal(Array.IndexOf(effects, -20f), byDistance[^1]);
    }

    [Fact]
    public async Task Pulls_larger_than_one_message_are_split_and_land_in_order()
    {
        var ps = fixture.Client;
        var table = await ps.CreateTableAsync(new Abstractions.TableSpec { Name = "split-large", Dim = 512, Shards = 2, InitScale = 1 });
        int rows = (TableClient.MaxBytesPerCall / (512 * 4) * 2) + 123;
        var ids = Enumerable.Range(0, rows).Select(i => (long)i * 7919).ToArray();
        var values = new float[rows * 512];
        await table.PullAsync(ids, values);
        var expected = new float[512];
        foreach (int i in new[] { 0, 1, rows / 2, rows - 1 })
        {
            table.Spec.RowInitializer.Fill(ids[i], expected);
            Assert.Equal(expected, values.AsSpan(i * 512, 512).ToArray());
        }

        Assert.True(table.Calls > 2, $"expected the pull to be split; it made {table.Calls} calls");
    }
}
