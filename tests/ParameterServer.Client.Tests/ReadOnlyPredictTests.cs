using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Client.Tests;

/// <summary>
/// Predictions that only read: pairs of known users and items predict exactly what the pull-based path predicts,
/// pairs of unknown ones are reported as unknown, and no table gains or changes a row.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ReadOnlyPredictTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Predicting_for_unknown_users_and_items_reports_them_and_creates_no_row()
    {
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 200, Items: 150, Count: 8_000, LatentDim: 4, Noise: 0.5f, Clusters: 4, Seed: 21)).Data;
        const string prefix = "predict-read-only";
        var options = new TrainingOptions
        {
            Model = RatingModelKind.Mf,
            Dim = 4,
            Epochs = 2,
            BatchSize = 256,
            Optimizer = OptimizerKind.Adam,
            LearningRate = 0.01f,
            Workers = 1,
            Seed = 21,
            TablePrefix = prefix,
            Shards = 2,
        };
        var (train, valid) = data.Split(0.1, 21);
        await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);
        var tables = await RatingTables.OpenAsync(fixture.Client, prefix);
        async Task<long[]> Rows() => [.. await Task.WhenAll(tables.All.Select(async t => (await fixture.Client.DescribeAsync(t.Spec.Name)).Rows))];
        var before = await Rows();

        // Known pairs from the data, then an unknown user with a known item, and a known user with an unknown item.
        long[] users = [train.Users[0], train.Users[1], train.Users[2], 9_999_001, train.Users[3]];
        long[] items = [train.Items[0], train.Items[1], train.Items[2], train.Items[3], 8_888_002];
        var pairs = new Ratings(users, items, new float[users.Length]);

        var (predictions, known) = await RatingTrainer.PredictExistingAsync(fixture.Client, tables, pairs);

        Assert.Equal([true, true, true, false, false], known);
        Assert.Equal(before, await Rows());
        // The reference: the pull-based path on the known pairs (their rows exist, so pulling creates none).
        var knownPairs = pairs.Select([0, 1, 2]);
        var reference = await RatingTrainer.PredictAsync(tables, knownPairs);
        Assert.Equal(reference, predictions[..3]);
        Assert.Equal(before, await Rows());
    }
}
