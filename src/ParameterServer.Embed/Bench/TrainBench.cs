using System.Diagnostics;
using ParameterServer.Client;
using ParameterServer.Client.Training;
using ParameterServer.Core.Baseline;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Embed.Bench;

/// <summary>Settings of <c>embed bench train</c>.</summary>
internal sealed record TrainBenchSettings(
    int Users, int Items, int Ratings, int Dim, int LatentDim, float Popularity, OptimizerKind Optimizer, float LearningRate,
    int Workers, int Staleness, int BatchSize, int Epochs, int Shards, int Seed, string Prefix, bool Prefetch = true, int CacheRows = 0, int CacheStaleness = 8, int ReferenceThreads = 0,
    Abstractions.WireValues Wire = Abstractions.WireValues.Float32);

/// <summary>One table's residency after the job: rows, arena bytes, and the floor of dim × 4 × (1 + optimizer slots) per row.</summary>
internal sealed record TableMemory(string Table, long Rows, long Bytes, int FloorBytesPerRow)
{
    public double BytesPerRow => Rows == 0 ? 0 : (double)Bytes / Rows;
}

/// <summary>
/// CPU seconds one process spent per million samples trained: over the whole job, and over the epochs after the
/// first (<c>SteadyCpuSecondsPerMillionSamples</c>, null with one epoch). The first epoch carries what a process pays
/// once, not per sample: compiling the step path on its first call (about a CPU second per fresh silo), creating
/// and first touching the rows. A scaling model wants the steady figure; a short job pays both.
/// </summary>
internal sealed record ProcessCost(string Role, int Pid, double CpuSecondsPerMillionSamples, double? SteadyCpuSecondsPerMillionSamples = null);

/// <summary>What the in-memory reference measured: samples/s of one thread and of every core, and validation RMSE.</summary>
internal sealed record ReferenceFigures(double OneThread, double AllCores, int Threads, double OneThreadRmse, double AllCoresRmse);

/// <summary>What <c>embed bench train</c> measured.</summary>
internal sealed record TrainBenchReport(
    TrainBenchSettings Settings,
    string Cluster,
    int Cores,
    double GenerateSeconds,
    ReferenceFigures Reference,
    TrainingReport Job,
    double TrainSeconds,
    TableMemory[] Memory,
    ProcessCost[] Processes,
    double? LoopbackBytesPerSample)
{
    /// <summary>
    /// Bytes this process (the worker, or worker and silo when embedded) allocated on the managed heap per sample
    /// over the job: what drives its garbage collections.
    /// </summary>
    public double AllocatedBytesPerSample { get; init; }

    /// <summary>Samples the parameter-server job trained (training split times epochs).</summary>
    public double Samples { get; init; }

    /// <summary>Parameter-server samples per second over the one-thread in-memory reference's.</summary>
    public double CostRatioOneThread => Job.SamplesPerSecond / Reference.OneThread;

    /// <summary>Parameter-server samples per second over the all-core in-memory reference's.</summary>
    public double CostRatioAllCores => Job.SamplesPerSecond / Reference.AllCores;

    /// <summary>
    /// CPU seconds the parameter server's processes (worker and silos) spent per sample over those of the one-thread
    /// reference (which uses one core fully): how many times the CPU of one competent thread a sample costs.
    /// </summary>
    public double CpuCostRatio => Processes.Sum(p => p.CpuSecondsPerMillionSamples) / (1e6 / Reference.OneThread);

    /// <summary>Rows pulled per second of training.</summary>
    public double RowsPulledPerSecond => Job.RowsPulled / TrainSeconds;

    /// <summary>Rows pushed per second of training.</summary>
    public double RowsPushedPerSecond => Job.RowsPushed / TrainSeconds;

    /// <summary>Calls (step calls and shard calls) per training step.</summary>
    public double CallsPerStep => Job.Steps == 0 ? 0 : (double)Job.Calls / Job.Steps;

    /// <summary>Step parts (a table's rows on one shard, pulled or pushed) served in process by the embedded silo per training step, without a call.</summary>
    public double LocalPartsPerStep => Job.Steps == 0 ? 0 : (double)Job.LocalParts / Job.Steps;

    /// <summary>Step calls per training step that went to a silo's step socket rather than through a gateway.</summary>
    public double SocketCallsPerStep => Job.Steps == 0 ? 0 : (double)Job.SocketCalls / Job.Steps;

    /// <summary>Payload bytes the worker sent per sample: ids, and ids and gradients of pushes.</summary>
    public double PayloadBytesSentPerSample => (double)Job.PayloadBytesSent / ((long)Job.TrainSamples * Job.Epochs.Count);

    /// <summary>Payload bytes the worker received per sample: pulled values.</summary>
    public double PayloadBytesReceivedPerSample => (double)Job.PayloadBytesReceived / ((long)Job.TrainSamples * Job.Epochs.Count);
}

/// <summary>
/// Generates a MovieLens-like data set (planted factors, power-law item popularity, seeded), times the fastest
/// in-memory trainer of the same model and optimizer on it (<see cref="FastRatingTrainer"/>: fused kernel, prefetch,
/// one thread and Hogwild on every core, no parameter server) before and after the parameter-server job, and trains
/// the same data through the parameter server with <see cref="RatingTrainer"/>, measuring the CPU time of this process
/// and of the silo processes on this machine. The reference figures are the means of the runs before and after, so
/// drift of a noisy machine hits both sides alike.
/// </summary>
internal static class TrainBench
{
    public static async Task<TrainBenchReport> RunAsync(ParameterServerClient ps, string cluster, bool embedded, TrainBenchSettings s, Action<string> progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var synthetic = SyntheticRatings.Generate(new SyntheticSettings(s.Users, s.Items, s.Ratings, s.LatentDim, 0.5f, 16, s.Seed, s.Popularity));
        // A small validation set: the epochs' evaluation should not weigh on the throughput being measured.
        var (train, valid) = synthetic.Data.Split(0.005, s.Seed);
        double generate = sw.Elapsed.TotalSeconds;
        progress($"generated {synthetic.Data.Count:N0} ratings of {s.Users:N0} users x {s.Items:N0} items (popularity exponent {s.Popularity}) in {generate:F1} s");

        var (mean, min, max) = train.Summary();
        var model = new RatingModel(RatingModelKind.Mf, min, max, mean);
        var optimizer = new OptimizerSettings(s.Optimizer, s.LearningRate, Epsilon: OptimizerSettings.DefaultEpsilon(s.Optimizer)); // as RatingTables sets it
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, s.Seed);
        int[] order = [.. Enumerable.Range(0, train.Count)];
        new Random(s.Seed).Shuffle(order);
        int threads = s.ReferenceThreads > 0 ? s.ReferenceThreads : Environment.ProcessorCount;

        (double SamplesPerSecond, double Rmse) Reference(int threadCount)
        {
            using var reference = new FastRatingTrainer(model, s.Users, s.Items, s.Dim, optimizer, init);
            reference.Prepare(train.Count); // its first page faults are set-up, not training
            var timer = Stopwatch.StartNew();
            for (int e = 0; e < s.Epochs; e++)
            {
                ct.ThrowIfCancellationRequested();
                reference.TrainEpoch(train, order, threadCount);
            }

            return ((double)train.Count * s.Epochs / timer.Elapsed.TotalSeconds, reference.Rmse(valid));
        }

        var one = Reference(1);
        var all = Reference(threads);
        progress($"in-memory reference: {one.SamplesPerSecond:N0} samples/s on one thread (validation RMSE {one.Rmse:F4}), {all.SamplesPerSecond:N0} on {threads} threads (RMSE {all.Rmse:F4})");

        var options = new TrainingOptions
        {
            // The benchmark times training; ranking figures and the users' history are after-training work.
            RankK = 0,
            RecordHistory = false,
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
            Wire = s.Wire,
            Seed = s.Seed,
            Shards = s.Shards,
            TablePrefix = s.Prefix,
        };
        string[] tables = [s.Prefix + ".users", s.Prefix + ".items", s.Prefix + ".user_bias", s.Prefix + ".item_bias"];
        await Task.WhenAll(tables.Select(ps.DropAsync));
        var selfBefore = ProcessCpu.Self();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var silosBefore = embedded ? [] : ProcessCpu.Silos();
        long loopbackBefore = embedded ? -1 : ProcessCpu.LoopbackBytes();
        // CPU at the end of every epoch (after its validation), for the steady figure of the epochs after the first.
        var atEpochEnd = new List<(ProcessSample Self, Dictionary<int, ProcessSample> Silos)>();
        var trainer = new RatingTrainer(ps, options);
        trainer.EpochFinished += _ => atEpochEnd.Add((ProcessCpu.Self(), embedded ? [] : ProcessCpu.Silos()));
        var job = await trainer.TrainAsync(train, valid, ct);
        var selfAfter = ProcessCpu.Self();
        long allocatedAfter = GC.GetTotalAllocatedBytes(precise: false);
        var silosAfter = embedded ? [] : ProcessCpu.Silos();
        long loopbackAfter = embedded ? -1 : ProcessCpu.LoopbackBytes();
        double trainSeconds = job.Epochs.Sum(e => e.Seconds);
        double samples = (double)train.Count * job.Epochs.Count;
        progress($"parameter server: {job.SamplesPerSecond:N0} samples/s, validation RMSE {job.ValidationRmse:F4}");
        // CPU per million samples between the end of the first epoch and the end of the last, of the process that
        // `at` picks out of an epoch's snapshot (null with one epoch, or a process not seen at both ends).
        double? SteadyOf(Func<(ProcessSample Self, Dictionary<int, ProcessSample> Silos), ProcessSample?> at) =>
            atEpochEnd.Count >= 2 && at(atEpochEnd[0]) is { } first && at(atEpochEnd[^1]) is { } last
                ? (last.CpuSeconds - first.CpuSeconds) / ((double)train.Count * (atEpochEnd.Count - 1)) * 1e6
                : null;
        var processes = new List<ProcessCost>
        {
            Cost(embedded ? "worker+silo" : "worker", selfBefore, selfAfter, samples) with { SteadyCpuSecondsPerMillionSamples = SteadyOf(e => e.Self) },
        };
        foreach (var (pid, after) in silosAfter.OrderBy(p => p.Key))
        {
            if (silosBefore.TryGetValue(pid, out var before))
            {
                processes.Add(Cost("silo", before, after, samples) with
                {
                    SteadyCpuSecondsPerMillionSamples = SteadyOf(e => e.Silos.TryGetValue(pid, out var p) ? p : null),
                });
            }
        }

        var memory = new List<TableMemory>();
        foreach (var name in tables)
        {
            var info = await ps.DescribeAsync(name);
            memory.Add(new TableMemory(name, info.Rows, info.Bytes, info.Spec.Dim * sizeof(float) * (1 + OptimizerSettings.SlotsOf(info.Spec.Optimizer))));
        }

        await Task.WhenAll(tables.Select(ps.DropAsync));
        var oneAgain = Reference(1);
        var allAgain = Reference(threads);
        progress($"in-memory reference again: {oneAgain.SamplesPerSecond:N0} samples/s on one thread, {allAgain.SamplesPerSecond:N0} on {threads}");
        var reference = new ReferenceFigures((one.SamplesPerSecond + oneAgain.SamplesPerSecond) / 2, (all.SamplesPerSecond + allAgain.SamplesPerSecond) / 2, threads, one.Rmse, all.Rmse);
        return new TrainBenchReport(s, cluster, Environment.ProcessorCount, generate, reference, job, trainSeconds, [.. memory], [.. processes],
            loopbackBefore >= 0 && loopbackAfter >= loopbackBefore ? (loopbackAfter - loopbackBefore) / samples : null)
        {
            AllocatedBytesPerSample = (allocatedAfter - allocatedBefore) / samples,
            Samples = samples,
        };
    }

    private static ProcessCost Cost(string role, ProcessSample before, ProcessSample after, double samples) =>
        new(role, after.Pid, (after.CpuSeconds - before.CpuSeconds) / samples * 1e6);
}
