using System.Diagnostics;
using ParameterServer.Abstractions;
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
public sealed partial class RatingTrainer : Trainer
{
    /// <summary>Creates a trainer.</summary>
    public RatingTrainer(ParameterServerClient ps, TrainingOptions options)
        : base(ps, options)
    {
    }

    /// <summary>Runs the job and returns its report.</summary>
    public async Task<TrainingReport> TrainAsync(Ratings train, Ratings validation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        if (Options.Model == RatingModelKind.Bpr)
        {
            // Implicit feedback: the interactions are the ratings at or above the threshold, nothing else.
            (train, validation) = (Positives(train, Options.RelevantThreshold), Positives(validation, Options.RelevantThreshold));
        }

        if (train.Count == 0)
        {
            throw new ArgumentException(Options.Model == RatingModelKind.Bpr
                ? $"The training set holds no interaction: bpr keeps the ratings at or above --relevant-threshold {Options.RelevantThreshold}."
                : "The training set is empty.");
        }

        return await EpochDriver.PublishedAsync(Ps, Options.TablePrefix, $"{RatingModel.NameOf(Options.Model)} dim {Options.Dim}, {train.Count} training samples", events => TrainCoreAsync(train, validation, events, cancellationToken));
    }

    private async Task<TrainingReport> TrainCoreAsync(Ratings train, Ratings validation, TrainingEventPublisher events, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var o = Options;
        var (mean, min, max) = train.Summary();
        var model = new RatingModel(o.Model, min, max, mean);
        var tables = await RatingTables.CreateAsync(Ps, o, model);
        // A row's weight decay applies once per step that touches it; fold-in needs the steps of an epoch to match it.
        long share = (train.Count + o.WorkerCount - 1) / o.WorkerCount;
        long batches = o.WorkerCount * Enumerable.Range(0, o.Workers).Sum(w => (((share * (w + 1) / o.Workers) - (share * w / o.Workers)) + o.BatchSize - 1) / o.BatchSize);
        await Ps.SetNumberAsync(tables.Items.Spec.Name, UserFoldIn.BatchesPerEpochKey, batches);
        if (!model.PredictsRatings)
        {
            return await TrainBprAsync(tables, train, validation, events, wall, cancellationToken);
        }

        var rows = RatingRows.Create(tables, train, o);
        var packed = PackedRatings.Of(train);
        var result = await RunEpochsAsync(
            [.. tables.All],
            train.Count,
            () => new RatingStep(Ps.Steps, tables, rows, packed, new BatchBuffers(o.BatchSize, o.Dim), o.Wire),
            async loss => new ValidationFigures(validation.Count > 0 ? await EvaluateAsync(tables, validation, Math.Max(o.BatchSize, 4096)) : Math.Sqrt(loss)),
            events,
            cancellationToken,
            rows.Caches);
        await RecordInteractionsAsync(train);
        var report = result.ToReport(RatingModel.NameOf(o.Model), o.Dim, o, train.Count, validation.Count, wall.Elapsed);
        // Ranking is judged on the rows the job kept (the best epoch's), once, after training.
        return o.RankK > 0 && validation.Count > 0
            ? report with { Ranking = await RatingRanking.EvaluateAsync(Ps, tables, train, validation, o.RankK, o.RelevantThreshold, o.RankUsers, o.Seed) }
            : report;
    }

    /// <summary>
    /// What the job leaves beside its rows (see <see cref="TrainingOptions.RecordHistory"/>): the training pairs become
    /// the users' history, and each item's count of training samples goes to the item table's count table
    /// (<see cref="TrainingCounts"/>), which searches filter on.
    /// </summary>
    private async Task RecordInteractionsAsync(Ratings train)
    {
        if (!Options.RecordHistory || Options.WorkerIndex != 0)
        {
            return;
        }

        var history = Ps.RecordHistoryAsync(Options.TablePrefix, train.Users, train.Items);
        string items = RatingTables.ItemTable(Options.TablePrefix);
        var itemTable = await Ps.OpenTableAsync(items);
        var counts = await Ps.CreateTableAsync(new TableSpec
        {
            Name = TrainingCounts.TableOf(items),
            Dim = 1,
            // The item table's shard count: a shard's rows are then in one shard of the counts (one call per search).
            Shards = itemTable.Spec.Shards,
            Initializer = Core.Storage.InitializerKind.Zeros,
            InitScale = 0,
        });
        var perItem = new Dictionary<long, float>();
        foreach (long item in train.Items)
        {
            perItem[item] = perItem.GetValueOrDefault(item) + 1;
        }

        await counts.WriteAsync(perItem.Keys.ToArray(), perItem.Values.ToArray());
        await Ps.SetTextAsync(items, TrainingCounts.MetadataKey, counts.Spec.Name);
        await history;
    }

    /// <summary>RMSE of the tables' predictions on <paramref name="data"/>, clipped to the model's rating range.</summary>
    public static async Task<double> EvaluateAsync(RatingTables tables, Ratings data, int batchSize = 4096)
    {
        var predictions = await PredictAsync(tables, data, batchSize);
        return RmseAccumulator.Between(predictions, data.Values);
    }

    /// <summary>
    /// Predictions (clipped to the rating range) for the pairs of <paramref name="pairs"/>; its values are ignored.
    /// Rows are read, never created: a user or item without a row predicts from its initial values.
    /// </summary>
    public static async Task<float[]> PredictAsync(RatingTables tables, Ratings pairs, int batchSize = 4096)
    {
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(pairs);
        var result = new float[pairs.Count];
        var buffers = new BatchBuffers(batchSize, tables.Users.Dim);
        await InBatchesAsync(pairs.Count, batchSize, async (samples, start) =>
        {
            buffers.Load(pairs, samples);
            await PeekAsync(tables, buffers);
            Predict(tables.Model, buffers, result.AsSpan(start, samples.Count));
        });
        return result;
    }

    /// <summary>
    /// Predictions for <paramref name="pairs"/> that read the tables without creating or changing any row (a pull
    /// would create the rows of unknown users and items): <c>Known[i]</c> is false when pair i's user or item has
    /// no row, and its prediction is then left 0.
    /// </summary>
    public static async Task<(float[] Predictions, bool[] Known)> PredictExistingAsync(ParameterServerClient ps, RatingTables tables, Ratings pairs, int batchSize = 4096)
    {
        ArgumentNullException.ThrowIfNull(ps);
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(pairs);
        var result = new float[pairs.Count];
        var known = new bool[pairs.Count];
        var b = new BatchBuffers(batchSize, tables.Users.Dim);
        await InBatchesAsync(pairs.Count, batchSize, async (samples, start) =>
        {
            b.Load(pairs, samples);
            var userIds = b.Users.Ids.AsMemory(0, b.Users.Count);
            var itemIds = b.Items.Ids.AsMemory(0, b.Items.Count);
            // The four tables at once, as a pull would.
            var users = Query.RowPeek.PeekAsync(ps, tables.Users.Spec.Name, userIds, tables.Users.Dim);
            var items = Query.RowPeek.PeekAsync(ps, tables.Items.Spec.Name, itemIds, tables.Items.Dim);
            var userBias = tables.UserBias is { } ub ? Query.RowPeek.PeekAsync(ps, ub.Spec.Name, userIds, 1) : null;
            var itemBias = tables.ItemBias is { } ib ? Query.RowPeek.PeekAsync(ps, ib.Spec.Name, itemIds, 1) : null;
            var (userValues, userFound) = await users;
            var (itemValues, itemFound) = await items;
            userValues.CopyTo(b.Users.Values, 0);
            itemValues.CopyTo(b.Items.Values, 0);
            if (userBias is not null && itemBias is not null)
            {
                (await userBias).Values.CopyTo(b.UserBias, 0);
                (await itemBias).Values.CopyTo(b.ItemBias, 0);
            }

            Predict(tables.Model, b, result.AsSpan(start, samples.Count));
            for (int k = 0; k < b.Count; k++)
            {
                known[start + k] = userFound[b.UserIndex[k]] && itemFound[b.ItemIndex[k]];
                if (!known[start + k])
                {
                    result[start + k] = 0;
                }
            }
        });
        return (result, known);
    }

    /// <summary>Predictions for the samples loaded in <paramref name="b"/> (rows already pulled), clipped to the rating range.</summary>
    internal static void Predict(RatingModel model, BatchBuffers b, Span<float> predictions)
    {
        for (int k = 0; k < b.Count; k++)
        {
            int ju = b.UserIndex[k], ji = b.ItemIndex[k];
            float p = model.Predict(b.Users.Row(ju), b.Items.Row(ji), b.UserBias[ju], b.ItemBias[ji]);
            predictions[k] = Math.Clamp(p, model.Min, model.Max);
        }
    }

    /// <summary>Reads the distinct rows of the loaded batch from every table without creating any (<see cref="TableClient.PeekAsync"/>).</summary>
    private static Task PeekAsync(RatingTables t, BatchBuffers b)
    {
        var users = b.Users.Ids.AsMemory(0, b.Users.Count);
        var items = b.Items.Ids.AsMemory(0, b.Items.Count);
        return t.UserBias is null || t.ItemBias is null
            ? Task.WhenAll(t.Users.PeekAsync(users, b.Users.Values), t.Items.PeekAsync(items, b.Items.Values))
            : Task.WhenAll(t.Users.PeekAsync(users, b.Users.Values), t.Items.PeekAsync(items, b.Items.Values), t.UserBias.PeekAsync(users, b.UserBias), t.ItemBias.PeekAsync(items, b.ItemBias));
    }

    /// <summary>The loaded batch's distinct rows of every table, as one step call pulls them.</summary>
    private static List<TablePull> Pulls(RatingTables t, BatchBuffers b)
    {
        var pulls = new List<TablePull>(4)
        {
            new(t.Users, b.Users.Ids.AsMemory(0, b.Users.Count), b.Users.Values),
            new(t.Items, b.Items.Ids.AsMemory(0, b.Items.Count), b.Items.Values),
        };
        if (t.UserBias is not null && t.ItemBias is not null)
        {
            pulls.Add(new(t.UserBias, b.Users.Ids.AsMemory(0, b.Users.Count), b.UserBias));
            pulls.Add(new(t.ItemBias, b.Items.Ids.AsMemory(0, b.Items.Count), b.ItemBias));
        }

        return pulls;
    }

    /// <summary>Pulls the distinct rows of the loaded batch from every table at once, per table through the row clients of <paramref name="r"/> (hot-row caches).</summary>
    private static async Task PullRowsAsync(RatingRows r, BatchBuffers b)
    {
        var users = r.Users.PullAsync(b.Users.Ids.AsMemory(0, b.Users.Count), b.Users.Values);
        var items = r.Items.PullAsync(b.Items.Ids.AsMemory(0, b.Items.Count), b.Items.Values);
        if (r.UserBias is null || r.ItemBias is null)
        {
            await Task.WhenAll(users, items);
            return;
        }

        var ub = r.UserBias.PullAsync(b.Users.Ids.AsMemory(0, b.Users.Count), b.UserBias);
        var ib = r.ItemBias.PullAsync(b.Items.Ids.AsMemory(0, b.Items.Count), b.ItemBias);
        await Task.WhenAll(users, items, ub, ib);
    }

    /// <summary>A worker loop's step of a rating model.</summary>
    private sealed class RatingStep(StepClient steps, RatingTables t, RatingRows c, PackedRatings train, BatchBuffers b, WireValues wire) : IBatchStep
    {
        public void Load(ReadOnlySpan<int> samples) => b.Load(train, samples);

        public int Rows => (b.Users.Count + b.Items.Count) * (t.Model.HasBiases ? 2 : 1);

        public int Samples => b.Count;

        // The pull's ticket, handed to the push of the same rows (the loop always pushes what it pulled).
        private readonly PulledTicket _ticket = new(steps, wire);

        private BatchBuffers Buffers => b;

        // Without hot-row caches every table goes through step calls, one per silo.
        private bool StepCalls => c.Caches.Count == 0;

        public Task PullAsync() => StepCalls ? _ticket.PullAsync(Pulls(t, b)) : PullRowsAsync(c, b);

        public double Compute()
        {
            // Loss of a batch: ½ Σ (pred − y)² (per-sample semantics, as in Funk-SVD): the server's weight decay and
            // the learning rate then mean the same at any batch size.
            const float scale = 0.5f;
            var model = t.Model;
            var users = b.Users;
            var items = b.Items;
            double batchError = 0;
            // No clearing pass over the gradient sums: Load numbered the distinct rows in order of first use, so the
            // sample that brings row `next` is its first use in this same order, and starts its sum instead of adding.
            int nextUser = 0, nextItem = 0;
            for (int k = 0; k < b.Count; k++)
            {
                int ju = b.UserIndex[k], ji = b.ItemIndex[k];
                bool startU = ju == nextUser, startV = ji == nextItem;
                nextUser += startU ? 1 : 0;
                nextItem += startV ? 1 : 0;
                batchError += model.Backward(
                    users.Row(ju), items.Row(ji), b.UserBias[ju], b.ItemBias[ji], b.Targets[k], scale,
                    users.Gradient(ju), items.Gradient(ji), ref b.UserBiasGrad[ju], ref b.ItemBiasGrad[ji], startU, startV);
            }

            if (nextUser != users.Count || nextItem != items.Count)
            {
                throw new InvalidOperationException($"The batch's rows were not numbered in order of first use ({nextUser} of {users.Count} users, {nextItem} of {items.Count} items started).");
            }

            if (t.Users.Spec.Optimizer == Core.Optimizers.OptimizerKind.Sgd)
            {
                // SGD's step grows with the gradient: summed over a hot item's ~100 uses in a batch of 1,024 on Zipf data,
                // one push would move it 100 steps' worth at once and diverge. A row's sum counts at most k uses
                // (k = 0.25 / lr: 25 at lr 0.01), see DistinctRows.CapGradients. Adagrad and adam normalise their steps
                // themselves and keep the plain sum. At batch size 1 every rule agrees.
                users.CapGradients(b.UserBiasGrad.AsSpan(0, users.Count), t.Users.Spec.LearningRate);
                items.CapGradients(b.ItemBiasGrad.AsSpan(0, items.Count), t.Items.Spec.LearningRate);
            }

            return batchError;
        }

        public Task PushAsync() => StepCalls ? _ticket.PushAsync(Pushes()) : PushRowsAsync();

        public (Task Push, Task Pull) PushThenPull(IBatchStep next) =>
            StepCalls && next is RatingStep n && n.StepCalls
                ? _ticket.PushThenPull(Pushes(), sameRows: true, n._ticket, Pulls(t, n.Buffers))
                : (PushAsync(), next.PullAsync());

        private List<TablePush> Pushes()
        {
            var pushes = new List<TablePush>(4)
            {
                new(t.Users, b.Users.Ids.AsMemory(0, b.Users.Count), b.Users.Gradients.AsMemory(0, b.Users.Count * b.Dim)),
                new(t.Items, b.Items.Ids.AsMemory(0, b.Items.Count), b.Items.Gradients.AsMemory(0, b.Items.Count * b.Dim)),
            };
            if (t.UserBias is not null && t.ItemBias is not null)
            {
                pushes.Add(new(t.UserBias, b.Users.Ids.AsMemory(0, b.Users.Count), b.UserBiasGrad.AsMemory(0, b.Users.Count)));
                pushes.Add(new(t.ItemBias, b.Items.Ids.AsMemory(0, b.Items.Count), b.ItemBiasGrad.AsMemory(0, b.Items.Count)));
            }

            return pushes;
        }

        private Task PushRowsAsync()
        {
            var users = c.Users.PushAsync(b.Users.Ids.AsMemory(0, b.Users.Count), b.Users.Gradients.AsMemory(0, b.Users.Count * b.Dim));
            var items = c.Items.PushAsync(b.Items.Ids.AsMemory(0, b.Items.Count), b.Items.Gradients.AsMemory(0, b.Items.Count * b.Dim));
            if (c.UserBias is null || c.ItemBias is null)
            {
                return Task.WhenAll(users, items);
            }

            var ub = c.UserBias.PushAsync(b.Users.Ids.AsMemory(0, b.Users.Count), b.UserBiasGrad.AsMemory(0, b.Users.Count));
            var ib = c.ItemBias.PushAsync(b.Items.Ids.AsMemory(0, b.Items.Count), b.ItemBiasGrad.AsMemory(0, b.Items.Count));
            return Task.WhenAll(users, items, ub, ib);
        }
    }
}
