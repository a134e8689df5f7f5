using ParameterServer.Client.Training;
using ParameterServer.Core.Baseline;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Client.Tests;

/// <summary>The SGD rule for rows used many times in one batch: a push moves a row by at most k = 0.25 / lr uses' worth.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SgdRowRuleTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData(0.01f, 25f)]
    [InlineData(0.03f, 8f)]
    [InlineData(0.3f, 1f)]
    public void The_use_budget_follows_the_learning_rate(float lr, float k) => Assert.Equal(k, DistinctRows.MaxUses(lr));

    [Fact]
    public void Rows_used_more_than_k_times_are_scaled_to_k_uses_and_the_others_keep_their_sum()
    {
        var rows = new DistinctRows(64, 2);
        // Row 10 used 3 times, row 20 used 50 times, row 30 once (k = 25 at lr 0.01).
        foreach (long id in Enumerable.Repeat(10L, 3).Concat(Enumerable.Repeat(20L, 50)).Append(30L))
        {
            int at = rows.Add(id);
            rows.Gradient(at)[0] += 1f;
            rows.Gradient(at)[1] -= 2f;
        }

        var bias = new float[] { 3f, 50f, 1f };
        rows.CapGradients(bias, 0.01f);

        Assert.Equal([3f, -6f, 25f, -50f, 1f, -2f], rows.Gradients.AsSpan(0, 6).ToArray());
        Assert.Equal([3f, 25f, 1f], bias);
    }

    [Fact]
    public async Task Sgd_at_its_default_rate_trains_skewed_data_like_the_one_sample_at_a_time_reference()
    {
        // Zipf items: the most popular item is used ~120 times in a batch of 1,024. The plain sum diverges here.
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 3000, Items: 2000, Count: 300_000, LatentDim: 8, Noise: 0.5f, Clusters: 8, Seed: 11, Popularity: 1f)).Data;
        var (train, valid) = data.Split(0.1, 11);
        const float lr = 0.02f;
        var options = new TrainingOptions
        {
            Model = RatingModelKind.Mf,
            Dim = 64,
            Epochs = 2,
            Patience = 3,
            BatchSize = 1024,
            Optimizer = OptimizerKind.Sgd,
            LearningRate = lr,
            Workers = 1,
            Staleness = 0,
            Seed = 11,
            TablePrefix = ClusterFixture.UniqueName("sgd-rule"),
        };
        var report = await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);

        var (mean, min, max) = train.Summary();
        var reference = new InMemoryRatingTrainer(new RatingModel(RatingModelKind.Mf, min, max, mean), 3000, 2000, 64, new OptimizerSettings(OptimizerKind.Sgd, lr), new RowInitializer(InitializerKind.Normal, 0.1f, 11));
        int[] order = [.. Enumerable.Range(0, train.Count)];
        for (int e = 0; e < 2; e++)
        {
            new Random(e).Shuffle(order);
            reference.TrainEpoch(train, order);
        }

        double expected = reference.Rmse(valid);
        Assert.True(double.IsFinite(report.ValidationRmse));
        Assert.InRange(report.ValidationRmse, expected - 0.02, expected + 0.02);
    }
}
