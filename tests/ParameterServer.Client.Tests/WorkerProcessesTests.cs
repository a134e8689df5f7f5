using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;


namespace ParameterServer.Client.Tests;

/// <summary>Several worker processes (here: trainers sharing nothing but the cluster) training one job on the same tables.</summary>
[Collection(ClusterCollection.Name)]
public sealed class WorkerProcessesTests(ClusterFixture fixture)
{
    private static TrainingOptions Options(string prefix, int index, int count) => new()
    {
        Model = RatingModelKind.Mf,
        Dim = 16,
        Epochs = 12,
        Patience = 100,
        Optimizer = OptimizerKind.Adam,
        LearningRate = 0.005f,
        WeightDecay = 0.05f,
        Workers = 1,
        Seed = 7,
        TablePrefix = prefix,
        WorkerIndex = index,
        WorkerCount = count,
    };

    [Fact]
    public async Task Two_worker_processes_split_the_samples_and_train_one_model_to_the_noise_floor()
    {
        var settings = new SyntheticSettings(Users: 1000, Items: 500, Count: 200_000, LatentDim: 8, Noise: 0.5f, Clusters: 8, Seed: 11);
        var (train, valid) = SyntheticRatings.Generate(settings).Data.Split(0.2, 7);
        string prefix = ClusterFixture.UniqueName("two-procs");
        var first = new RatingTrainer(fixture.Client, Options(prefix, 0, 2)).TrainAsync(train, valid);
        var second = new RatingTrainer(fixture.Client, Options(prefix, 1, 2)).TrainAsync(train, valid);
        var reports = await Task.WhenAll(first, second);

        // Each process trained its half of the samples every epoch, and neither rolled the shared tables back.
        foreach (var r in reports)
        {
            Assert.Equal(12, r.Epochs.Count);
            Assert.Equal(12, r.BestEpoch);
        }

        var tables = await RatingTables.OpenAsync(fixture.Client, prefix);
        double rmse = await RatingTrainer.EvaluateAsync(tables, valid);
        Assert.InRange(rmse, settings.Noise * 0.9, settings.Noise * 1.15);

        // Between them every training sample was used once per epoch: process 0 trained ⌈n/2⌉, process 1 ⌊n/2⌋.
        Assert.Equal((train.Count + 1) / 2, reports[0].Epochs[0].SamplesPerSecond * reports[0].Epochs[0].Seconds, 3);
        Assert.Equal(train.Count / 2, reports[1].Epochs[0].SamplesPerSecond * reports[1].Epochs[0].Seconds, 3);
    }

    [Fact]
    public async Task A_worker_index_outside_the_count_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new RatingTrainer(fixture.Client, Options("bad-procs", 2, 2)));
        Assert.Contains("--worker-index 2 must be in 0..1", e.Message);
        await Task.CompletedTask;
    }
}
