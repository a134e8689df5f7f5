using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Abstractions.Telemetry;

namespace ParameterServer.Client.Training;

/// <summary>One model's minibatch step, as a worker loop runs it. Each loop owns one step object and its buffers.</summary>
internal interface IBatchStep
{
    /// <summary>Loads the training samples at <paramref name="samples"/> and finds their distinct rows.</summary>
    void Load(ReadOnlySpan<int> samples);

    /// <summary>Rows the loaded batch pulls (and pushes), over every table.</summary>
    int Rows { get; }

    /// <summary>Samples the loaded batch scores (a link batch: its positives and their negatives); its loss is summed over them.</summary>
    int Samples { get; }

    /// <summary>Pulls the rows of the loaded batch (one call per shard per table).</summary>
    Task PullAsync();

    /// <summary>Forward and backward pass over the loaded batch, gradients summed per row; returns the summed loss.</summary>
    double Compute();

    /// <summary>Pushes the gradients; the values are copied before it returns, so the buffers may be reused at once.</summary>
    Task PushAsync();

    /// <summary>
    /// <see cref="PushAsync"/> of this step and <see cref="PullAsync"/> of <paramref name="next"/> (its batch loaded):
    /// a step whose tables go through step calls sends both in one call per silo, which applies the push before it
    /// reads the pull's rows (<see cref="StepClient.PushThenPull(IReadOnlyList{TablePush}, StepTicket?, IReadOnlyList{TablePull}, WireValues)"/>).
    /// </summary>
    (Task Push, Task Pull) PushThenPull(IBatchStep next) => (PushAsync(), next.PullAsync());
}

/// <summary>What an epoch's validation measured; <see cref="Criterion"/> (lower is better) decides early stopping.</summary>
/// <param name="Rmse">Root mean squared error of the predictions (of the probabilities for a binary task); NaN when the model has none.</param>
/// <param name="LogLoss">Mean log loss (binary tasks), which then decides early stopping.</param>
/// <param name="Accuracy">Share of correct classifications at 0.5 (binary tasks).</param>
/// <param name="Auc">Area under the ROC curve (binary tasks, link models).</param>
/// <param name="Objective">What decides early stopping when neither log loss nor RMSE does (lower is better): 1 − AUC of a link model, 1 − NDCG@k of a ranking model, or the training loss without held-out data.</param>
/// <param name="Ndcg">NDCG@k of the validation users' top-k (ranking models).</param>
internal readonly record struct ValidationFigures(double Rmse, double? LogLoss = null, double? Accuracy = null, double? Auc = null, double? Objective = null, double? Ndcg = null)
{
    public double Criterion => Objective ?? LogLoss ?? Rmse;
}

/// <summary>
/// Runs the epochs of a training job, whatever the model: each epoch shuffles the training samples (seeded) and
/// splits them among <see cref="JobOptions.Workers"/> loops; each loop cuts its own minibatches and runs its
/// <see cref="IBatchStep"/> (load, pull, compute, push within its staleness window). After every epoch the
/// validation criterion decides early stopping; the tables keep the best epoch's rows (snapshot and restore).
/// </summary>
/// <param name="ps">The parameter server.</param>
/// <param name="options">The job's options (epochs, worker loops and processes, staleness, early stopping).</param>
/// <param name="job">The job's name (its table prefix), as metrics and events tag it.</param>
/// <param name="tables">The tables the job pushes to: snapshot, restored, and counted for traffic and lost updates.</param>
/// <param name="caches">The hot-row caches the steps share, written back after every epoch's loops.</param>
internal sealed class EpochDriver(ParameterServerClient ps, JobOptions options, string job, IReadOnlyList<TableClient> tables, IReadOnlyList<HotRowCache>? caches = null)
{
    private readonly IReadOnlyList<HotRowCache> _caches = caches ?? [];

    private readonly KeyValuePair<string, object?> _jobTag = new(ParameterServerTelemetry.JobTag, job);

    /// <summary>
    /// Steps (batch buffers) each worker loop turns through (<see cref="RunLoopAsync"/>): three when steps travel to
    /// silos (the batch being computed, the next one's rows in flight, and the one after, whose pull goes with this
    /// batch's push in one call); two when a co-hosted silo serves them in process, where there is no call to save and
    /// a third set of buffers only pushes the others out of the core's cache (measured 5–8 % slower embedded).
    /// </summary>
    public static int StepsPerLoop(StepClient steps) => steps.InProcess ? 2 : 3;

    /// <summary>Publishes the job's started, finished (or failed) events around <paramref name="run"/>.</summary>
    public static async Task<TrainingReport> PublishedAsync(ParameterServerClient ps, string job, string started, Func<TrainingEventPublisher, Task<TrainingReport>> run)
    {
        var events = new TrainingEventPublisher(ps.Events, job);
        await events.PublishAsync(TrainingEventKind.Started, message: started);
        try
        {
            var report = await run(events);
            await events.PublishAsync(TrainingEventKind.Finished, report.BestEpoch, report.Epochs[report.BestEpoch - 1].TrainLoss, report.ValidationRmse, report.SamplesPerSecond);
            return report;
        }
        catch (Exception e)
        {
            await events.PublishAsync(TrainingEventKind.Failed, message: e.Message);
            throw;
        }
    }

    /// <summary>
    /// Every table copies its rows aside. Retried within each table's <see cref="TableClient.Retry"/>: a shard whose
    /// silo is leaving answers "silo stopping" until it has moved, and taking the copy again changes nothing.
    /// </summary>
    public static Task SnapshotAsync(ParameterServerClient ps, IEnumerable<TableClient> tables) =>
        Task.WhenAll(tables.Select(t => t.Retry.RunAsync(() => ps.TableGrain(t.Spec.Name).Snapshot())));

    /// <summary>
    /// Every table goes back to its snapshot; retried as <see cref="SnapshotAsync"/> is (going back twice is going
    /// back once). Answers one line per table with shards that had no snapshot and so keep their last rows.
    /// </summary>
    public static async Task<string[]> RestoreAsync(ParameterServerClient ps, IEnumerable<TableClient> tables)
    {
        var gaps = await Task.WhenAll(tables.Select(async t =>
        {
            var missing = await t.Retry.RunAsync(() => ps.TableGrain(t.Spec.Name).RestoreSnapshot());
            return missing.Length == 0 ? null
                : $"table '{t.Spec.Name}' shard{(missing.Length > 1 ? "s" : "")} {string.Join(", ", missing)} had no snapshot of the best epoch (restarted from a checkpoint after a crash, or moved without it) and keep the last epoch's rows";
        }));
        return [.. gaps.OfType<string>()];
    }

    /// <summary>
    /// Trains <paramref name="trainCount"/> samples with one step per worker loop; <paramref name="validate"/> gets
    /// the epoch's mean training loss (to stand in when there is no validation set).
    /// </summary>
    public async Task<DriverResult> RunAsync(
        int trainCount,
        IReadOnlyList<IBatchStep> steps,
        Func<double, Task<ValidationFigures>> validate,
        TrainingEventPublisher events,
        Action<EpochReport>? epochFinished,
        Action<long, double>? progress,
        CancellationToken cancellationToken)
    {
        var o = options;
        var stepsBefore = await StepsPerShardAsync();
        var trafficBefore = Traffic();
        var epochs = new List<EpochReport>();
        // This process's share of the samples when several worker processes train the job together.
        int[] order = new int[(trainCount - o.WorkerIndex + o.WorkerCount - 1) / o.WorkerCount];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = o.WorkerIndex + (i * o.WorkerCount);
        }

        if (order.Length == 0)
        {
            throw new ArgumentException($"Worker process {o.WorkerIndex} of {o.WorkerCount} has no training samples: there are only {trainCount}.");
        }

        bool rollback = o.WorkerCount == 1;

        double best = double.PositiveInfinity;
        int bestEpoch = 0;
        double trainSeconds = 0;
        long trainSamples = 0, outstanding = 0, stepCount = 0, rows = 0;
        var stepTicks = new List<long>();
        var phases = default(PhaseTimes);
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // HashCode is randomized per process; a fixed mix keeps the shuffle reproducible from --seed. Bucketed: a
            // Fisher–Yates pass over tens of millions of samples costs a cache miss per sample (seconds per epoch).
            Core.Sampling.BucketShuffle.Shuffle(order, Core.Hashing.Mix64.Mix(((ulong)(uint)o.Seed << 32) | (uint)epoch));
            using var activity = ParameterServerTelemetry.ActivitySource.StartActivity("train epoch");
            activity?.SetTag(ParameterServerTelemetry.JobTag, job);
            activity?.SetTag("ps.epoch", epoch);
            var sw = Stopwatch.StartNew();
            var loops = new Task<LoopResult>[o.Workers];
            for (int w = 0; w < o.Workers; w++)
            {
                int perLoop = steps.Count / o.Workers;
                var ring = steps.Skip(perLoop * w).Take(perLoop).ToArray();
                int from = (int)((long)order.Length * w / o.Workers);
                int to = (int)((long)order.Length * (w + 1) / o.Workers);
                loops[w] = Task.Run(() => RunLoopAsync(ring, order.AsMemory(from, to - from), progress, cancellationToken), cancellationToken);
            }

            var results = await Task.WhenAll(loops);
            // Nothing stays in the caches across validation, a snapshot or the end: every gradient reaches the server.
            await Task.WhenAll(_caches.Select(c => c.FlushAsync()));
            double seconds = sw.Elapsed.TotalSeconds;
            trainSeconds += seconds;
            long epochSamples = results.Sum(r => r.Samples);
            trainSamples += epochSamples;
            double loss = results.Sum(r => r.Loss) / epochSamples;
            outstanding += results.Sum(r => r.Outstanding);
            stepCount += results.Sum(r => r.Steps);
            rows += results.Sum(r => r.Rows);
            foreach (var r in results)
            {
                phases.Add(r.Phases);
                stepTicks.AddRange(r.StepTicks);
            }

            var v = await validate(loss);
            var report = new EpochReport(epoch, loss, v.Rmse, epochSamples / seconds, seconds)
            {
                ValidationLogLoss = v.LogLoss,
                ValidationAccuracy = v.Accuracy,
                ValidationAuc = v.Auc,
                ValidationNdcg = v.Ndcg,
            };
            epochs.Add(report);
            ParameterServerTelemetry.TrainingLoss.Record(loss, _jobTag);
            if (!double.IsNaN(v.Rmse))
            {
                ParameterServerTelemetry.ValidationRmse.Record(v.Rmse, _jobTag);
            }

            if (v.Auc is { } auc)
            {
                ParameterServerTelemetry.ValidationAuc.Record(auc, _jobTag);
            }

            ParameterServerTelemetry.Epochs.Add(1, _jobTag);
            epochFinished?.Invoke(report);
            await events.PublishAsync(TrainingEventKind.EpochFinished, epoch, loss, double.IsNaN(v.Rmse) ? 0 : v.Rmse, report.SamplesPerSecond, v.Auc is { } a ? $"validation AUC {a:F4}" : v.Ndcg is { } n ? $"validation NDCG {n:F4}" : null);
            if (v.Criterion < best)
            {
                best = v.Criterion;
                bestEpoch = epoch;
                if (epoch < o.Epochs && rollback)
                {
                    await SnapshotAsync(ps, tables);
                }
            }
            else if (epoch - bestEpoch >= o.Patience)
            {
                break;
            }
        }

        // Updates lost: rows whose pushes shards acknowledged but whose steps they no longer hold (a silo died
        // after the shard's last checkpoint). Read before restoring the best epoch, which rewinds step counts.
        var stepsAfter = await StepsPerShardAsync();
        string[] rollbackGaps = [];
        long lost = 0;
        foreach (var t in tables)
        {
            for (int s = 0; s < t.Spec.Shards; s++)
            {
                lost += Math.Max(0, stepsBefore[(t.Spec.Name, s)] + t.RowsAcknowledged(s) - stepsAfter[(t.Spec.Name, s)]);
            }
        }

        if (bestEpoch != epochs.Count && rollback)
        {
            rollbackGaps = await RestoreAsync(ps, tables);
        }

        // Without a rollback the tables hold the last epoch's rows (and other processes' updates): report that one.
        if (!rollback)
        {
            bestEpoch = epochs.Count;
        }

        var trafficAfter = Traffic();
        return new DriverResult(epochs, bestEpoch, trainSamples / trainSeconds, stepCount == 0 ? 0 : (double)outstanding / stepCount, stepCount, phases.ToSeconds(), lost, tables)
        {
            CheckpointErrors = [.. _checkpointErrors],
            RollbackGaps = rollbackGaps,
            Rows = rows,
            Calls = trafficAfter.Calls - trafficBefore.Calls,
            LocalParts = trafficAfter.LocalParts - trafficBefore.LocalParts,
            SocketCalls = trafficAfter.SocketCalls - trafficBefore.SocketCalls,
            BytesSent = trafficAfter.Sent - trafficBefore.Sent,
            BytesReceived = trafficAfter.Received - trafficBefore.Received,
            StepP50Ms = Percentile(stepTicks, 0.50),
            StepP99Ms = Percentile(stepTicks, 0.99),
            Caches = _caches,
        };
    }

    /// <summary>Calls, parts served in process and payload bytes so far of this job's tables and of the step client (shared by the process's jobs).</summary>
    private (long Calls, long LocalParts, long SocketCalls, long Sent, long Received) Traffic() =>
        (ps.Steps.Calls + tables.Sum(t => t.Calls), ps.Steps.LocalParts, ps.Steps.SocketCalls, ps.Steps.BytesSent + tables.Sum(t => t.BytesSent), ps.Steps.BytesReceived + tables.Sum(t => t.BytesReceived));

    /// <summary>The <paramref name="q"/> quantile of step durations in milliseconds (nearest rank); NaN without steps.</summary>
    private static double Percentile(List<long> ticks, double q)
    {
        if (ticks.Count == 0)
        {
            return double.NaN;
        }

        ticks.Sort();
        return ticks[Math.Min(ticks.Count - 1, (int)Math.Ceiling(q * ticks.Count) - 1)] * 1000.0 / Stopwatch.Frequency;
    }

    private async Task<Dictionary<(string Table, int Shard), long>> StepsPerShardAsync()
    {
        var steps = new Dictionary<(string, int), long>();
        _checkpointErrors.Clear();
        foreach (var t in tables)
        {
            var info = await ps.DescribeAsync(t.Spec.Name);
            foreach (var shard in info.Shards)
            {
                steps[(t.Spec.Name, shard.Index)] = shard.OptimizerSteps;
                if (shard.CheckpointError is { } error)
                {
                    _checkpointErrors.Add($"table '{t.Spec.Name}' shard {shard.Index} on {shard.Silo}: {error}");
                }
            }
        }

        return steps;
    }

    // Shards whose last checkpoint failed, as the job's last look at them found them.
    private readonly List<string> _checkpointErrors = [];

    /// <summary>
    /// One worker loop over its part of the epoch, with its steps in turn (<see cref="StepsPerLoop"/>). With a
    /// staleness window (S ≥ 1) the pull of batch t+1 is issued before batch t is computed; with three steps, batch
    /// t+2 is loaded once batch t is computed and its pull travels with batch t's push, one call per silo that applies
    /// the push first, while batch t+1's rows, pulled the same way a step earlier, arrive. Either way a batch may miss
    /// the previous batch's update, one step of staleness that the window allows. S = 0 keeps every step
    /// synchronous: push, then pull.
    /// </summary>
    private async Task<LoopResult> RunLoopAsync(IBatchStep[] ring, ReadOnlyMemory<int> part, Action<long, double>? progress, CancellationToken ct)
    {
        var o = options;
        var window = new PushWindow(o.Staleness, job);
        var phases = default(PhaseTimes);
        double loss = 0;
        long rows = 0, samples = 0;
        int batches = (part.Length + o.BatchSize - 1) / o.BatchSize;
        var stepTicks = new List<long>(batches);
        bool prefetch = o.Prefetch && o.Staleness > 0;
        bool fuse = prefetch && ring.Length >= 3;
        var pulling = new Task?[ring.Length];
        IBatchStep Loaded(int batch)
        {
            var step = ring[batch % ring.Length];
            int start = batch * o.BatchSize;
            step.Load(part.Span.Slice(start, Math.Min(o.BatchSize, part.Length - start)));
            return step;
        }

        for (int t = 0; t < batches; t++)
        {
            ct.ThrowIfCancellationRequested();
            var step = ring[t % ring.Length];
            long t0 = Stopwatch.GetTimestamp();
            pulling[t % ring.Length] ??= Loaded(t).PullAsync();
            if (prefetch && t + 1 < batches)
            {
                pulling[(t + 1) % ring.Length] ??= Loaded(t + 1).PullAsync();
            }

            long t1 = Stopwatch.GetTimestamp();
            await pulling[t % ring.Length]!;
            long t2 = Stopwatch.GetTimestamp();
            pulling[t % ring.Length] = null;
            double batchLoss = step.Compute();
            loss += batchLoss;
            long t3 = Stopwatch.GetTimestamp(), t4 = t3;
            Task push;
            if (fuse && t + 2 < batches)
            {
                var following = Loaded(t + 2);
                t4 = Stopwatch.GetTimestamp();
                (push, pulling[(t + 2) % ring.Length]) = step.PushThenPull(following);
            }
            else
            {
                push = step.PushAsync();
            }

            await window.AddAsync(push);
            long t5 = Stopwatch.GetTimestamp();
            phases.Load += t1 - t0 + (t4 - t3);
            phases.Pull += t2 - t1;
            phases.Compute += t3 - t2;
            phases.Push += t5 - t4;
            stepTicks.Add(t5 - t0);
            rows += step.Rows;
            samples += step.Samples;
            ParameterServerTelemetry.TrainingSamples.Add(step.Samples, _jobTag);
            progress?.Invoke(step.Samples, batchLoss / step.Samples);
        }

        long d0 = Stopwatch.GetTimestamp();
        await window.DrainAsync();
        phases.Push += Stopwatch.GetTimestamp() - d0;
        return new LoopResult(loss, samples, window.ObservedOutstanding, window.Steps, phases, rows, stepTicks);
    }

    /// <summary>A loop's figures: loss, samples scored, outstanding pushes observed, steps, phase times, rows pulled (= pushed) and step durations.</summary>
    private readonly record struct LoopResult(double Loss, long Samples, long Outstanding, long Steps, PhaseTimes Phases, long Rows, List<long> StepTicks);

    /// <summary>Stopwatch ticks a worker loop spent in each phase of its steps.</summary>
    private struct PhaseTimes
    {
        public long Load;
        public long Pull;
        public long Compute;
        public long Push;

        public void Add(PhaseTimes other)
        {
            Load += other.Load;
            Pull += other.Pull;
            Compute += other.Compute;
            Push += other.Push;
        }

        public readonly PhaseSeconds ToSeconds()
        {
            double f = Stopwatch.Frequency;
            return new PhaseSeconds(Load / f, Pull / f, Compute / f, Push / f);
        }
    }
}

/// <summary>What <see cref="EpochDriver.RunAsync"/> measured; <see cref="ToReport"/> turns it into the job's report.</summary>
internal sealed record DriverResult(
    IReadOnlyList<EpochReport> Epochs,
    int BestEpoch,
    double SamplesPerSecond,
    double MeanOutstandingPushes,
    long Steps,
    PhaseSeconds LoopSeconds,
    long UpdatesLost,
    IReadOnlyList<TableClient> Tables)
{
    /// <summary>Rows pulled over the job (each is pushed too).</summary>
    public long Rows { get; init; }

    /// <summary>Shards whose last checkpoint failed when the job ended, with the error.</summary>
    public IReadOnlyList<string> CheckpointErrors { get; init; } = [];

    /// <summary>Tables whose shards could not go back to the best epoch (no snapshot), one line each; empty when all did.</summary>
    public IReadOnlyList<string> RollbackGaps { get; init; } = [];

    /// <summary>Calls made over the job (step calls and shard calls, validation included).</summary>
    public long Calls { get; init; }

    /// <summary>Step parts served in process by a co-hosted silo over the job (no call made for them).</summary>
    public long LocalParts { get; init; }

    /// <summary>Step calls of the job that went to a silo's step socket (the rest of <see cref="Calls"/> were grain calls).</summary>
    public long SocketCalls { get; init; }

    /// <summary>Payload bytes sent over the job: ids, and ids and gradients of pushes.</summary>
    public long BytesSent { get; init; }

    /// <summary>Payload bytes received over the job: pulled values.</summary>
    public long BytesReceived { get; init; }

    /// <summary>Median step time (load, pull, compute, push wait), in milliseconds.</summary>
    public double StepP50Ms { get; init; }

    /// <summary>99th percentile step time, in milliseconds.</summary>
    public double StepP99Ms { get; init; }

    /// <summary>The hot-row caches of the job (none when off).</summary>
    public IReadOnlyList<HotRowCache> Caches { get; init; } = [];

    /// <summary>The report of the job, the best epoch's validation figures at the top.</summary>
    public TrainingReport ToReport(string model, int dim, TrainingOptions o, int trainSamples, int validationSamples, TimeSpan wall)
    {
        var best = Epochs[BestEpoch - 1];
        return new TrainingReport
        {
            Model = model,
            Dim = dim,
            BatchSize = o.BatchSize,
            Workers = o.Workers,
            Staleness = o.Staleness,
            Optimizer = o.Optimizer.ToString().ToLowerInvariant(),
            LearningRate = JobOptions.Reported(o.LearningRate),
            WeightDecay = JobOptions.Reported(o.WeightDecay),
            TrainSamples = trainSamples,
            ValidationSamples = validationSamples,
            BestEpoch = BestEpoch,
            ValidationRmse = best.ValidationRmse,
            ValidationLogLoss = best.ValidationLogLoss,
            ValidationAccuracy = best.ValidationAccuracy,
            ValidationAuc = best.ValidationAuc,
            ValidationNdcg = best.ValidationNdcg,
            SamplesPerSecond = SamplesPerSecond,
            WallSeconds = wall.TotalSeconds,
            MeanOutstandingPushes = MeanOutstandingPushes,
            Steps = Steps,
            Calls = Calls,
            LocalParts = LocalParts,
            SocketCalls = SocketCalls,
            PayloadBytesSent = BytesSent,
            PayloadBytesReceived = BytesReceived,
            RowsPulled = Rows - Caches.Sum(c => c.Hits),
            RowsPushed = Rows - Caches.Sum(c => c.Absorbed) + Caches.Sum(c => c.WrittenBack),
            CacheRows = Caches.Count == 0 ? 0 : Caches.Max(c => c.Count),
            CacheStaleness = Caches.Count == 0 ? null : Caches[0].Staleness,
            CacheHitRate = Caches.Count == 0 ? null : (double)Caches.Sum(c => c.Hits) / Math.Max(1, Caches.Sum(c => c.Needed)),
            StepP50Ms = StepP50Ms,
            StepP99Ms = StepP99Ms,
            LoopSeconds = LoopSeconds,
            Epochs = Epochs,
            Retries = Tables.Sum(t => t.RetryCount),
            UpdatesLost = UpdatesLost,
            CheckpointErrors = CheckpointErrors,
            RollbackGaps = RollbackGaps,
            Recoveries = RecoveryReport.Of(Tables),
        };
    }
}
