using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Abstractions.Telemetry;
using ParameterServer.Core.Data;
using ParameterServer.Core.Metrics;
using ParameterServer.Core.Models;

namespace ParameterServer.Client.Training;

/// <summary>
/// Trains a rating model through the parameter server. Each epoch shuffles the training samples (seeded) and
/// splits them among <see cref="JobOptions.Workers"/> loops; each loop cuts its own minibatches, pulls the
/// distinct rows of a batch (one call per shard per table, in parallel), computes the model's gradients of
/// ½ Σ (pred − y)² over the batch with SIMD, sums them per distinct row and pushes them asynchronously within its
/// staleness window. After every epoch the validation RMSE (predictions clipped to the rating range) decides
/// early stopping; the tables keep the best epoch's rows.
/// </summary>
public sealed class RatingTrainer
{
    private readonly ParameterServerClient _ps;
    private readonly TrainingOptions _options;
    private readonly KeyValuePair<string, object?> _jobTag;

    /// <summary>Creates a trainer.</summary>
    public RatingTrainer(ParameterServerClient ps, TrainingOptions options)
    {
        _ps = ps ?? throw new ArgumentNullException(nameof(ps));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _jobTag = new(ParameterServerTelemetry.JobTag, options.TablePrefix);
    }

    /// <summary>Called after every epoch.</summary>
    public event Action<EpochReport>? EpochFinished;

    /// <summary>Called after every step, from the worker loops' threads, with the step's samples and mean squared error.</summary>
    public event Action<long, double>? Progress;

    /// <summary>Runs the job and returns its report.</summary>
    public async Task<TrainingReport> TrainAsync(Ratings train, Ratings validation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        if (train.Count == 0)
        {
            throw new ArgumentException("The training set is empty.");
        }

        var events = new TrainingEventPublisher(_ps.Events, _options.TablePrefix);
        await events.PublishAsync(TrainingEventKind.Started, message: $"{RatingModel.NameOf(_options.Model)} dim {_options.Dim}, {train.Count} training samples");
        try
        {
            var report = await TrainCoreAsync(train, validation, events, cancellationToken);
            await events.PublishAsync(TrainingEventKind.Finished, report.BestEpoch, report.Epochs[report.BestEpoch - 1].TrainLoss, report.ValidationRmse, report.SamplesPerSecond);
            return report;
        }
        catch (Exception e)
        {
            await events.PublishAsync(TrainingEventKind.Failed, message: e.Message);
            throw;
        }
    }

    private async Task<TrainingReport> TrainCoreAsync(Ratings train, Ratings validation, TrainingEventPublisher events, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var o = _options;
        var (mean, min, max) = train.Summary();
        var model = new RatingModel(o.Model, min, max, mean);
        var tables = await RatingTables.CreateAsync(_ps, o, model);
        // A row's weight decay applies once per step that touches it; fold-in needs the steps of an epoch to match it.
        long batches = Enumerable.Range(0, o.Workers).Sum(w => ((((long)train.Count * (w + 1) / o.Workers) - ((long)train.Count * w / o.Workers)) + o.BatchSize - 1) / o.BatchSize);
        await _ps.SetNumberAsync(tables.Items.Spec.Name, UserFoldIn.BatchesPerEpochKey, batches);
        var stepsBefore = await StepsPerShardAsync(tables);

        var epochs = new List<EpochReport>();
        int[] order = new int[train.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        double best = double.PositiveInfinity;
        int bestEpoch = 0;
        double trainSeconds = 0;
        long trainSamples = 0, outstanding = 0, steps = 0, rows = 0;
        var stepTicks = new List<long>();
        var phases = default(PhaseTimes);
        var buffers = Enumerable.Range(0, o.Workers).Select(_ => new BatchBuffers(o.BatchSize, o.Dim)).ToArray();
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // HashCode is randomized per process; a fixed mix keeps the shuffle reproducible from --seed.
            new Random((int)Core.Hashing.Mix64.Mix(((ulong)(uint)o.Seed << 32) | (uint)epoch)).Shuffle(order);
            using var activity = ParameterServerTelemetry.ActivitySource.StartActivity("train epoch");
            activity?.SetTag(ParameterServerTelemetry.JobTag, o.TablePrefix);
            activity?.SetTag("ps.epoch", epoch);
            var sw = Stopwatch.StartNew();
            var loops = new Task<LoopResult>[o.Workers];
            for (int w = 0; w < o.Workers; w++)
            {
                var b = buffers[w];
                int from = (int)((long)order.Length * w / o.Workers);
                int to = (int)((long)order.Length * (w + 1) / o.Workers);
                loops[w] = Task.Run(() => RunLoopAsync(tables, train, b, order.AsMemory(from, to - from), cancellationToken), cancellationToken);
            }

            var results = await Task.WhenAll(loops);
            double seconds = sw.Elapsed.TotalSeconds;
            trainSeconds += seconds;
            trainSamples += train.Count;
            double loss = results.Sum(r => r.SquaredError) / train.Count;
            outstanding += results.Sum(r => r.Outstanding);
            steps += results.Sum(r => r.Steps);
            rows += results.Sum(r => r.Rows);
            foreach (var r in results)
            {
                phases.Add(r.Phases);
                stepTicks.AddRange(r.StepTicks);
            }

            double rmse = validation.Count > 0 ? await EvaluateAsync(tables, validation, Math.Max(o.BatchSize, 4096)) : Math.Sqrt(loss);
            var report = new EpochReport(epoch, loss, rmse, train.Count / seconds, seconds);
            epochs.Add(report);
            ParameterServerTelemetry.TrainingLoss.Record(loss, _jobTag);
            ParameterServerTelemetry.ValidationRmse.Record(rmse, _jobTag);
            ParameterServerTelemetry.Epochs.Add(1, _jobTag);
            EpochFinished?.Invoke(report);
            await events.PublishAsync(TrainingEventKind.EpochFinished, epoch, loss, rmse, report.SamplesPerSecond);
            if (rmse < best)
            {
                best = rmse;
                bestEpoch = epoch;
                if (epoch < o.Epochs)
                {
                    await tables.SnapshotAsync(_ps);
                }
            }
            else if (epoch - bestEpoch >= o.Patience)
            {
                break;
            }
        }

        // Updates lost: rows whose pushes shards acknowledged but whose steps they no longer hold (a silo died
        // after the shard's last checkpoint). Read before restoring the best epoch, which rewinds step counts.
        var stepsAfter = await StepsPerShardAsync(tables);
        long lost = 0;
        foreach (var t in tables.All)
        {
            for (int s = 0; s < t.Spec.Shards; s++)
            {
                lost += Math.Max(0, stepsBefore[(t.Spec.Name, s)] + t.RowsAcknowledged(s) - stepsAfter[(t.Spec.Name, s)]);
            }
        }

        if (bestEpoch != epochs.Count)
        {
            await tables.RestoreAsync(_ps);
        }

        return new TrainingReport
        {
            Model = RatingModel.NameOf(o.Model),
            Dim = o.Dim,
            BatchSize = o.BatchSize,
            Workers = o.Workers,
            Staleness = o.Staleness,
            Optimizer = o.Optimizer.ToString().ToLowerInvariant(),
            LearningRate = o.LearningRate,
            WeightDecay = o.WeightDecay,
            TrainSamples = train.Count,
            ValidationSamples = validation.Count,
            BestEpoch = bestEpoch,
            ValidationRmse = best,
            SamplesPerSecond = trainSamples / trainSeconds,
            WallSeconds = wall.Elapsed.TotalSeconds,
            MeanOutstandingPushes = steps == 0 ? 0 : (double)outstanding / steps,
            Steps = steps,
            RowsPulled = rows,
            RowsPushed = rows,
            StepP50Ms = Percentile(stepTicks, 0.50),
            StepP99Ms = Percentile(stepTicks, 0.99),
            LoopSeconds = phases.ToSeconds(),
            Epochs = epochs,
            Retries = tables.All.Sum(t => t.RetryCount),
            UpdatesLost = lost,
            Recoveries = [.. tables.All.SelectMany(t => t.Recoveries).OrderBy(r => r.Recovered).Select(r => new RecoveryReport(r.Table, r.Shard, r.FirstFailure, r.Recovered, r.Retries, r.Error))],
        };
    }

    /// <summary>The <paramref name="q"/> quantile of step durations, in milliseconds (nearest rank).</summary>
    private static double Percentile(List<long> ticks, double q)
    {
        if (ticks.Count == 0)
        {
            return double.NaN;
        }

        ticks.Sort();
        return ticks[Math.Min(ticks.Count - 1, (int)Math.Ceiling(q * ticks.Count) - 1)] * 1000.0 / Stopwatch.Frequency;
    }

    private async Task<Dictionary<(string Table, int Shard), long>> StepsPerShardAsync(RatingTables tables)
    {
        var steps = new Dictionary<(string, int), long>();
        foreach (var t in tables.All)
        {
            var info = await _ps.DescribeAsync(t.Spec.Name);
            foreach (var shard in info.Shards)
            {
                steps[(t.Spec.Name, shard.Index)] = shard.OptimizerSteps;
            }
        }

        return steps;
    }

    /// <summary>RMSE of the tables' predictions on <paramref name="data"/>, clipped to the model's rating range.</summary>
    public static async Task<double> EvaluateAsync(RatingTables tables, Ratings data, int batchSize = 4096)
    {
        var predictions = await PredictAsync(tables, data, batchSize);
        var acc = default(RmseAccumulator);
        for (int k = 0; k < predictions.Length; k++)
        {
            float e = predictions[k] - data.Values[k];
            acc.Add(e * e);
        }

        return acc.Rmse;
    }

    /// <summary>Predictions (clipped to the rating range) for the pairs of <paramref name="pairs"/>; its values are ignored.</summary>
    public static async Task<float[]> PredictAsync(RatingTables tables, Ratings pairs, int batchSize = 4096)
    {
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(pairs);
        var result = new float[pairs.Count];
        int[] order = new int[Math.Min(batchSize, Math.Max(1, pairs.Count))];
        var buffers = new BatchBuffers(batchSize, tables.Users.Dim);
        for (int start = 0; start < pairs.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, pairs.Count - start);
            for (int k = 0; k < n; k++)
            {
                order[k] = start + k;
            }

            buffers.Load(pairs, order.AsSpan(0, n));
            await PullAsync(tables, buffers);
            Predict(tables.Model, buffers, result.AsSpan(start, n));
        }

        return result;
    }

    /// <summary>Predictions for the samples loaded in <paramref name="b"/> (rows already pulled), clipped to the rating range.</summary>
    internal static void Predict(RatingModel model, BatchBuffers b, Span<float> predictions)
    {
        int d = b.Dim;
        for (int k = 0; k < b.Count; k++)
        {
            int ju = b.UserIndex[k], ji = b.ItemIndex[k];
            float p = model.Predict(b.UserValues.AsSpan(ju * d, d), b.ItemValues.AsSpan(ji * d, d), b.UserBias[ju], b.ItemBias[ji]);
            predictions[k] = Math.Clamp(p, model.Min, model.Max);
        }
    }

    /// <summary>Pulls the distinct rows of the loaded batch from every table at once.</summary>
    internal static Task PullAsync(RatingTables t, BatchBuffers b)
    {
        var users = t.Users.PullAsync(b.UserIds.AsMemory(0, b.Users), b.UserValues);
        var items = t.Items.PullAsync(b.ItemIds.AsMemory(0, b.Items), b.ItemValues);
        if (t.UserBias is null || t.ItemBias is null)
        {
            return Task.WhenAll(users, items);
        }

        var ub = t.UserBias.PullAsync(b.UserIds.AsMemory(0, b.Users), b.UserBias);
        var ib = t.ItemBias.PullAsync(b.ItemIds.AsMemory(0, b.Items), b.ItemBias);
        return Task.WhenAll(users, items, ub, ib);
    }

    private async Task<LoopResult> RunLoopAsync(RatingTables t, Ratings train, BatchBuffers b, ReadOnlyMemory<int> part, CancellationToken ct)
    {
        var o = _options;
        var window = new PushWindow(o.Staleness, o.TablePrefix);
        var phases = default(PhaseTimes);
        double squaredError = 0;
        long rows = 0;
        var stepTicks = new List<long>(part.Length / o.BatchSize + 1);
        int d = o.Dim;
        var model = t.Model;
        for (int start = 0; start < part.Length; start += o.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            int n = Math.Min(o.BatchSize, part.Length - start);
            long t0 = Stopwatch.GetTimestamp();
            b.Load(train, part.Span.Slice(start, n));
            long t1 = Stopwatch.GetTimestamp();
            await PullAsync(t, b);
            long t2 = Stopwatch.GetTimestamp();
            b.ClearGradients();
            // Loss of a batch: ½ Σ (pred − y)² (per-sample semantics, as in Funk-SVD): the server's weight decay and
            // the learning rate then mean the same at any batch size.
            const float scale = 0.5f;
            double batchError = 0;
            for (int k = 0; k < n; k++)
            {
                int ju = b.UserIndex[k], ji = b.ItemIndex[k];
                batchError += model.Backward(
                    b.UserValues.AsSpan(ju * d, d), b.ItemValues.AsSpan(ji * d, d), b.UserBias[ju], b.ItemBias[ji], b.Targets[k], scale,
                    b.UserGrad.AsSpan(ju * d, d), b.ItemGrad.AsSpan(ji * d, d), ref b.UserBiasGrad[ju], ref b.ItemBiasGrad[ji]);
            }

            squaredError += batchError;
            long t3 = Stopwatch.GetTimestamp();
            await window.AddAsync(PushAsync(t, b));
            long t4 = Stopwatch.GetTimestamp();
            phases.Load += t1 - t0;
            phases.Pull += t2 - t1;
            phases.Compute += t3 - t2;
            phases.Push += t4 - t3;
            stepTicks.Add(t4 - t0);
            rows += (b.Users + b.Items) * (model.HasBiases ? 2 : 1);
            ParameterServerTelemetry.TrainingSamples.Add(n, _jobTag);
            Progress?.Invoke(n, batchError / n);
        }

        long d0 = Stopwatch.GetTimestamp();
        await window.DrainAsync();
        phases.Push += Stopwatch.GetTimestamp() - d0;
        return new LoopResult(squaredError, window.ObservedOutstanding, window.Steps, phases, rows, stepTicks);
    }

    private static Task PushAsync(RatingTables t, BatchBuffers b)
    {
        int d = b.Dim;
        var users = t.Users.PushAsync(b.UserIds.AsMemory(0, b.Users), b.UserGrad.AsMemory(0, b.Users * d));
        var items = t.Items.PushAsync(b.ItemIds.AsMemory(0, b.Items), b.ItemGrad.AsMemory(0, b.Items * d));
        if (t.UserBias is null || t.ItemBias is null)
        {
            return Task.WhenAll(users, items);
        }

        var ub = t.UserBias.PushAsync(b.UserIds.AsMemory(0, b.Users), b.UserBiasGrad.AsMemory(0, b.Users));
        var ib = t.ItemBias.PushAsync(b.ItemIds.AsMemory(0, b.Items), b.ItemBiasGrad.AsMemory(0, b.Items));
        return Task.WhenAll(users, items, ub, ib);
    }

    /// <summary>A loop's figures: its error, outstanding pushes observed, steps, phase times, rows pulled (= pushed) and step durations.</summary>
    private readonly record struct LoopResult(double SquaredError, long Outstanding, long Steps, PhaseTimes Phases, long Rows, List<long> StepTicks);

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
