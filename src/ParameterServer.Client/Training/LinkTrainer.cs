using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Abstractions.Telemetry;
using ParameterServer.Core.Data;
using ParameterServer.Core.Hashing;
using ParameterServer.Core.Models;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Client.Training;

/// <summary>
/// Trains link embeddings (the Wikipedia-books recipe) through the parameter server: an entity table and a link
/// table, scored by dot or cosine. Each minibatch takes positive pairs and, per positive, random links checked not to
/// be true pairs of its entity; worker loops pull the batch's distinct rows (one call per shard per table), compute
/// the loss's gradients with SIMD, sum them per distinct row and push asynchronously within the staleness window.
/// After every epoch the AUC of held-out positives against sampled negatives decides early stopping; the tables keep
/// the best epoch's rows. At the end, recall@k ranks each sampled held-out link among all links of the vocabulary.
/// </summary>
public sealed class LinkTrainer
{
    private readonly ParameterServerClient _ps;
    private readonly LinkTrainingOptions _options;
    private readonly LinkModel _model;
    private readonly KeyValuePair<string, object?> _jobTag;

    /// <summary>Creates a trainer.</summary>
    public LinkTrainer(ParameterServerClient ps, LinkTrainingOptions options)
    {
        _ps = ps ?? throw new ArgumentNullException(nameof(ps));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _model = new LinkModel(options.Score, options.Loss);
        _jobTag = new(ParameterServerTelemetry.JobTag, options.TablePrefix);
    }

    /// <summary>Called after every epoch.</summary>
    public event Action<LinkEpochReport>? EpochFinished;

    /// <summary>Runs the job on <paramref name="train"/>, validating on <paramref name="validation"/> (same numbering).</summary>
    public async Task<LinkTrainingReport> TrainAsync(LinkPairs train, LinkPairs validation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        if (train.Count == 0)
        {
            throw new ArgumentException("The training set holds no pairs.");
        }

        var events = new TrainingEventPublisher(_ps.Events, _options.TablePrefix);
        await events.PublishAsync(TrainingEventKind.Started, message: $"link {_options.Score.ToString().ToLowerInvariant()} {train.Count} pairs");
        try
        {
            var report = await TrainCoreAsync(train, validation, events, cancellationToken);
            await events.PublishAsync(TrainingEventKind.Finished, report.BestEpoch, report.Epochs[report.BestEpoch - 1].TrainLoss, samplesPerSecond: report.SamplesPerSecond, message: $"validation AUC {report.ValidationAuc:F4}, recall@{report.RecallK} {report.RecallAtK:F4}");
            return report;
        }
        catch (Exception e)
        {
            await events.PublishAsync(TrainingEventKind.Failed, message: e.Message);
            throw;
        }
    }

    /// <summary>Creates (or opens) the entity and link tables and labels their rows.</summary>
    public async Task<(TableClient Entities, TableClient Links)> OpenTablesAsync(LinkPairs pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var o = _options;
        var entities = o.EntityTable is null ? await _ps.CreateTableAsync(Spec(o.EntityTableName, o.Dim, o.Seed)) : await _ps.OpenTableAsync(o.EntityTable);
        // A different seed for links: an entity and a link of the same text share a row id, not a starting point.
        var links = await _ps.CreateTableAsync(Spec(o.LinkTableName, entities.Dim, (int)Mix64.Mix((ulong)o.Seed ^ 0x9E3779B97F4A7C15UL)));
        var entityLabels = new Dictionary<long, string>();
        for (int i = 0; i < pairs.EntityIds.Length; i++)
        {
            if (pairs.EntityLabels[i] is { } label)
            {
                entityLabels[pairs.EntityIds[i]] = label;
            }
        }

        var linkLabels = new Dictionary<long, string>(pairs.LinkIds.Length);
        for (int i = 0; i < pairs.LinkIds.Length; i++)
        {
            linkLabels[pairs.LinkIds[i]] = pairs.LinkLabels[i];
        }

        await Task.WhenAll(entityLabels.Count > 0 ? _ps.SetLabelsAsync(entities, entityLabels) : Task.CompletedTask, _ps.SetLabelsAsync(links, linkLabels));
        return (entities, links);
    }

    private TableSpec Spec(string name, int dim, int seed) => new()
    {
        Name = name,
        Dim = dim,
        Shards = _options.Shards,
        Initializer = Core.Storage.InitializerKind.Normal,
        InitScale = _options.InitScale,
        Seed = seed,
        Optimizer = _options.Optimizer,
        LearningRate = _options.LearningRate,
        WeightDecay = _options.WeightDecay,
    };

    private async Task<LinkTrainingReport> TrainCoreAsync(LinkPairs train, LinkPairs validation, TrainingEventPublisher events, CancellationToken ct)
    {
        var wall = Stopwatch.StartNew();
        var o = _options;
        var (entities, links) = await OpenTablesAsync(train);
        var sampler = new NegativeSampler(train, validation);
        var evaluation = new LinkEvaluation(entities, links, _model, train, validation, sampler, o);
        int[] order = [.. Enumerable.Range(0, train.Count)];
        var batches = Enumerable.Range(0, o.Workers).Select(_ => new LinkBatch(train.EntityIds.Length, train.LinkIds.Length, o.BatchSize, o.Negatives, entities.Dim)).ToArray();
        var epochs = new List<LinkEpochReport>();
        double best = double.NegativeInfinity, trainSeconds = 0;
        long samples = 0;
        int bestEpoch = 0;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            ct.ThrowIfCancellationRequested();
            new Random((int)Mix64.Mix(((ulong)(uint)o.Seed << 32) | (uint)epoch)).Shuffle(order);
            using var activity = ParameterServerTelemetry.ActivitySource.StartActivity("train epoch");
            activity?.SetTag(ParameterServerTelemetry.JobTag, o.TablePrefix);
            var sw = Stopwatch.StartNew();
            var loops = new Task<(double Loss, long Samples)>[o.Workers];
            for (int w = 0; w < o.Workers; w++)
            {
                var batch = batches[w];
                int from = (int)((long)order.Length * w / o.Workers), to = (int)((long)order.Length * (w + 1) / o.Workers);
                int seed = (int)Mix64.Mix(((ulong)(uint)epoch << 32) | (uint)(o.Seed * 31 + w));
                loops[w] = Task.Run(() => RunLoopAsync(entities, links, train, sampler, batch, order.AsMemory(from, to - from), new Random(seed), ct), ct);
            }

            var results = await Task.WhenAll(loops);
            double seconds = sw.Elapsed.TotalSeconds;
            trainSeconds += seconds;
            long epochSamples = results.Sum(r => r.Samples);
            samples += epochSamples;
            double loss = results.Sum(r => r.Loss) / epochSamples;
            double auc = validation.Count > 0 ? await evaluation.AucAsync() : double.NaN;
            var report = new LinkEpochReport(epoch, loss, auc, epochSamples / seconds, seconds);
            epochs.Add(report);
            ParameterServerTelemetry.TrainingLoss.Record(loss, _jobTag);
            ParameterServerTelemetry.Epochs.Add(1, _jobTag);
            EpochFinished?.Invoke(report);
            await events.PublishAsync(TrainingEventKind.EpochFinished, epoch, loss, samplesPerSecond: report.SamplesPerSecond, message: $"validation AUC {auc:F4}");

            // Without held-out pairs the training loss decides (lower is better).
            double score = validation.Count > 0 ? auc : -loss;
            if (score > best)
            {
                best = score;
                bestEpoch = epoch;
                if (epoch < o.Epochs)
                {
                    await SnapshotAsync(entities, links);
                }
            }
            else if (epoch - bestEpoch >= o.Patience)
            {
                break;
            }
        }

        if (bestEpoch != epochs.Count)
        {
            await RestoreAsync(entities, links);
        }

        var (recall, recallPairs) = validation.Count > 0 ? await evaluation.RecallAtKAsync() : (double.NaN, 0);
        TableClient[] tables = [entities, links];
        return new LinkTrainingReport
        {
            Score = o.Score.ToString().ToLowerInvariant(),
            Loss = o.Loss.ToString().ToLowerInvariant(),
            Dim = entities.Dim,
            Negatives = o.Negatives,
            BatchSize = o.BatchSize,
            Workers = o.Workers,
            Optimizer = o.Optimizer.ToString().ToLowerInvariant(),
            LearningRate = o.LearningRate,
            EntityTable = entities.Spec.Name,
            LinkTable = links.Spec.Name,
            Entities = train.EntityIds.Length,
            Links = train.LinkIds.Length,
            TrainPairs = train.Count,
            ValidationPairs = validation.Count,
            BestEpoch = bestEpoch,
            ValidationAuc = epochs[bestEpoch - 1].ValidationAuc,
            RecallK = o.RecallK,
            RecallAtK = recall,
            RecallPairs = recallPairs,
            SamplesPerSecond = samples / trainSeconds,
            WallSeconds = wall.Elapsed.TotalSeconds,
            Retries = tables.Sum(t => t.RetryCount),
            Recoveries = [.. tables.SelectMany(t => t.Recoveries).OrderBy(r => r.Recovered).Select(r => new RecoveryReport(r.Table, r.Shard, r.FirstFailure, r.Recovered, r.Retries, r.Error))],
            Epochs = epochs,
        };
    }

    private Task SnapshotAsync(TableClient entities, TableClient links) => EpochDriver.SnapshotAsync(_ps, Trained(entities, links));

    private Task RestoreAsync(TableClient entities, TableClient links) => EpochDriver.RestoreAsync(_ps, Trained(entities, links));

    /// <summary>The tables this job pushes to (a frozen one keeps its rows, so it needs no snapshot).</summary>
    private IEnumerable<TableClient> Trained(TableClient entities, TableClient links)
    {
        if (!_options.FreezeEntities)
        {
            yield return entities;
        }

        if (!_options.FreezeLinks)
        {
            yield return links;
        }
    }

    private async Task<(double Loss, long Samples)> RunLoopAsync(TableClient entities, TableClient links, LinkPairs train, NegativeSampler sampler, LinkBatch b, ReadOnlyMemory<int> part, Random random, CancellationToken ct)
    {
        var o = _options;
        var window = new PushWindow(o.Staleness, o.TablePrefix);
        int d = b.Dim;
        double loss = 0;
        long samples = 0;
        for (int start = 0; start < part.Length; start += o.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            int n = Math.Min(o.BatchSize, part.Length - start);
            b.Load(train, sampler, part.Span.Slice(start, n), o.Negatives, random);
            await Task.WhenAll(
                entities.PullAsync(b.EntityIds.AsMemory(0, b.Entities), b.EntityValues),
                links.PullAsync(b.LinkIds.AsMemory(0, b.Links), b.LinkValues));
            b.ClearGradients();
            double batchLoss = 0;
            for (int k = 0; k < b.Count; k++)
            {
                int je = b.SampleEntity[k], jl = b.SampleLink[k];
                batchLoss += _model.Backward(
                    b.EntityValues.AsSpan(je * d, d), b.LinkValues.AsSpan(jl * d, d), b.SamplePositive[k], 1f,
                    b.EntityGrad.AsSpan(je * d, d), b.LinkGrad.AsSpan(jl * d, d));
            }

            loss += batchLoss;
            samples += b.Count;
            var pushEntities = o.FreezeEntities ? Task.CompletedTask : entities.PushAsync(b.EntityIds.AsMemory(0, b.Entities), b.EntityGrad.AsMemory(0, b.Entities * d));
            var pushLinks = o.FreezeLinks ? Task.CompletedTask : links.PushAsync(b.LinkIds.AsMemory(0, b.Links), b.LinkGrad.AsMemory(0, b.Links * d));
            await window.AddAsync(Task.WhenAll(pushEntities, pushLinks));
            ParameterServerTelemetry.TrainingSamples.Add(b.Count, _jobTag);
        }

        await window.DrainAsync();
        return (loss, samples);
    }
}
