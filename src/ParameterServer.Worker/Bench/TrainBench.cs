using System.Diagnostics;
using ParameterServer.Client;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;
using ParameterServer.Core.Training;

namespace ParameterServer.Worker.Bench;

/// <summary>Settings of <c>embed bench train</c>.</summary>
internal sealed record TrainBenchSettings(
    int Users, int Items, int Ratings, int Dim, int LatentDim, float Popularity, OptimizerKind Optimizer, float LearningRate,
    int Workers, int Staleness, int BatchSize, int Epochs, int Shards, int Seed, string Prefix, bool Prefetch = true, int CacheRows = 0, int CacheStaleness = 8);

/// <summary>One table's residency after the job: rows, arena bytes, and the floor of dim × 4 × (1 + optimizer slots) per row.</summary>
internal sealed record TableMemory(string Table, long Rows, long Bytes, int FloorBytesPerRow)
{
    public double BytesPerRow => Rows == 0 ? 0 : (double)Bytes / Rows;
}

/// <summary>What <c>embed bench train</c> measured.</summary>
internal sealed record TrainBenchReport(
    TrainBenchSettings Settings,
    string Cluster,
    int Cores,
    double GenerateSeconds,
    double ReferenceSamplesPerSecond,
    double ReferenceRmse,
    TrainingReport Job,
    double TrainSeconds,
    TableMemory[] Memory)
{
    /// <summary>Parameter-server samples per second over the in-memory reference's.</summary>
    public double Ratio => Job.SamplesPerSecond / ReferenceSamplesPerSecond;

    /// <summary>Rows pulled per second of training.</summary>
    public double RowsPulledPerSecond => Job.RowsPulled / TrainSeconds;

    /// <summary>Rows pushed per second of training.</summary>
    public double RowsPushedPerSecond => Job.RowsPushed / TrainSeconds;

    /// <summary>Payload bytes a pulled row costs on the wire: its id in the request, its values in the answer.</summary>
    public int PullBytesPerRow => sizeof(long) + (Settings.Dim * sizeof(float));

    /// <summary>Payload bytes a pushed row costs: id and gradient.</summary>
    public int PushBytesPerRow => sizeof(long) + (Settings.Dim * sizeof(float));
}

/// <summary>
/// Generates a MovieLens-like data set (planted factors, power-law item popularity, seeded), times a plain
/// in-memory loop over it (<see cref="InMemoryRatingTrainer"/>, one thread, no parameter server) before and after
/// the parameter-server job, and trains the same data through the parameter server with <see cref="RatingTrainer"/>.
/// The reference is the mean of its two runs, so drift of a noisy machine hits both sides alike.
/// </summary>
internal static class TrainBench
{
    public static async Task<TrainBenchReport> RunAsync(ParameterServerClient ps, string cluster, TrainBenchSettings s, Action<string> progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var synthetic = SyntheticRatings.Generate(new SyntheticSettings(s.Users, s.Items, s.Ratings, s.LatentDim, 0.5f, 16, s.Seed, s.Popularity));
        // A small validation set: the epochs' evaluation should not weigh on the throughput being measured.
        var (train, valid) = synthetic.Data.Split(0.005, s.Seed);
        double generate = sw.Elapsed.TotalSeconds;
        progress($"generated {synthetic.Data.Count:N0} ratings of {s.Users:N0} users x {s.Items:N0} items (popularity exponent {s.Popularity}) in {generate:F1} s");

        var (mean, min, max) = train.Summary();
        var model = new RatingModel(RatingModelKind.Mf, min, max, mean);
        var optimizer = new OptimizerSettings(s.Optimizer, s.LearningRate, Epsilon: s.Optimizer == OptimizerKind.Adagrad ? 1e-10f : 1e-8f); // as RatingTables sets it
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, s.Seed);
        int[] order = [.. Enumerable.Range(0, train.Count)];
        new Random(s.Seed).Shuffle(order);

        (double SamplesPerSecond, double Rmse) Reference()
        {
            var reference = new InMemoryRatingTrainer(model, s.Users, s.Items, s.Dim, optimizer, init);
            var timer = Stopwatch.StartNew();
            for (int e = 0; e < s.Epochs; e++)
            {
                ct.ThrowIfCancellationRequested();
                reference.TrainEpoch(train, order);
            }

            return ((double)train.Count * s.Epochs / timer.Elapsed.TotalSeconds, reference.Rmse(valid));
        }

        var before = Reference();
        progress($"in-memory reference: {before.SamplesPerSecond:N0} samples/s, validation RMSE {before.Rmse:F4}");

        var options = new TrainingOptions
        {
            Model = RatingModelKind.Mf,
            Dim = s.Dim,
            Epochs = s.Epochs,
            Patience = s.Epochs + 1,
            BatchSize = s.BatchSize,
            Optimizer = s.Optimizer,
            LearningRate = s.LearningRate,
            Workers = s.Workers,
            Staleness = s.Staleness,
            Prefetch = s.Prefetch,
            CacheRows = s.CacheRows,
            CacheStaleness = s.CacheStaleness,
            Seed = s.Seed,
            Shards = s.Shards,
            TablePrefix = s.Prefix,
        };
        string[] tables = [s.Prefix + ".users", s.Prefix + ".items", s.Prefix + ".user_bias", s.Prefix + ".item_bias"];
        await Task.WhenAll(tables.Select(ps.DropAsync));
        var job = await new RatingTrainer(ps, options).TrainAsync(train, valid, ct);
        double trainSeconds = job.Epochs.Sum(e => e.Seconds);
        progress($"parameter server: {job.SamplesPerSecond:N0} samples/s, validation RMSE {job.ValidationRmse:F4}");
        var memory = new List<TableMemory>();
        foreach (var name in tables)
        {
            var info = await ps.DescribeAsync(name);
            memory.Add(new TableMemory(name, info.Rows, info.Bytes, info.Spec.Dim * sizeof(float) * (1 + OptimizerSettings.SlotsOf(info.Spec.Optimizer))));
        }

        await Task.WhenAll(tables.Select(ps.DropAsync));
        var after = Reference();
        progress($"in-memory reference again: {after.SamplesPerSecond:N0} samples/s");
        return new TrainBenchReport(s, cluster, Environment.ProcessorCount, generate, (before.SamplesPerSecond + after.SamplesPerSecond) / 2, before.Rmse, job, trainSeconds, [.. memory]);
    }
}
