using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Core.Data;
using ParameterServer.Core.Hashing;
using ParameterServer.Core.Models;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Client.Training;

/// <summary>
/// Trains link embeddings (the Wikipedia-books recipe) through the parameter server: an entity table and a link
/// table, scored by dot or cosine. Each minibatch takes positive pairs and, per positive, random links checked not to
/// be true pairs of its entity; the epoch loop every trainer shares (<see cref="EpochDriver"/>: worker loops,
/// prefetch, staleness window, worker processes, step timings) runs one <see cref="LinkStep"/> per batch. After every
/// epoch the AUC of held-out positives against sampled negatives decides early stopping and is recorded as
/// <c>ps.training.validation.auc</c>; the tables keep the best epoch's rows (one worker process). At the end, recall@k
/// ranks each sampled held-out link among all links of the vocabulary.
/// </summary>
public sealed class LinkTrainer
{
    private readonly ParameterServerClient _ps;
    private readonly LinkTrainingOptions _options;
    private readonly LinkModel _model;

    /// <summary>Creates a trainer.</summary>
    public LinkTrainer(ParameterServerClient ps, LinkTrainingOptions options)
    {
        _ps = ps ?? throw new ArgumentNullException(nameof(ps));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _model = new LinkModel(options.Score, options.Loss);
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
        var links = await _ps.CreateTableAsync(Spec(o.LinkTableName, entities.Dim, (int)Mix64.Mix((ulong)o.Seed ^ Mix64.Golden)));
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
        // Steps in turn per worker loop (the next batches' pulls travel while one computes), each drawing its own negatives.
        var steps = new IBatchStep[o.Workers * EpochDriver.StepsPerLoop(_ps.Steps)];
        for (int i = 0; i < steps.Length; i++)
        {
            int seed = (int)Mix64.Mix(((ulong)(uint)(o.WorkerIndex * steps.Length + i) << 32) | (uint)o.Seed);
            var batch = new LinkBatch(train.EntityIds.Length, train.LinkIds.Length, o.BatchSize, o.Negatives, entities.Dim);
            steps[i] = new LinkStep(_ps.Steps, entities, links, train, sampler, _model, o, batch, new Random(seed));
        }

        // Held-out pairs decide early stopping by AUC; without them the training loss does (lower is better either way).
        var result = await new EpochDriver(_ps, o, o.TablePrefix, [.. Trained(entities, links)]).RunAsync(
            train.Count,
            steps,
            ValidateAsync,
            events,
            e => EpochFinished?.Invoke(LinkEpoch(e)),
            progress: null,
            ct);

        async Task<ValidationFigures> ValidateAsync(double trainLoss)
        {
            if (validation.Count == 0)
            {
                return new ValidationFigures(double.NaN, Objective: trainLoss);
            }

            double auc = await evaluation.AucAsync();
            return new ValidationFigures(double.NaN, Auc: auc, Objective: 1 - auc);
        }

        var (recall, recallPairs) = validation.Count > 0 ? await evaluation.RecallAtKAsync() : (double.NaN, 0);
        var ranking = validation.Count > 0 ? await evaluation.RankingAsync() : null;
        TableClient[] tables = [entities, links];
        return new LinkTrainingReport
        {
            Score = o.Score.ToString().ToLowerInvariant(),
            Loss = o.Loss.ToString().ToLowerInvariant(),
            Dim = entities.Dim,
            Negatives = o.Negatives,
            BatchSize = o.BatchSize,
            Workers = o.Workers,
            WorkerCount = o.WorkerCount,
            Staleness = o.Staleness,
            Optimizer = o.Optimizer.ToString().ToLowerInvariant(),
            LearningRate = JobOptions.Reported(o.LearningRate),
            EntityTable = entities.Spec.Name,
            LinkTable = links.Spec.Name,
            Entities = train.EntityIds.Length,
            Links = train.LinkIds.Length,
            TrainPairs = train.Count,
            ValidationPairs = validation.Count,
            BestEpoch = result.BestEpoch,
            ValidationAuc = result.Epochs[result.BestEpoch - 1].ValidationAuc ?? double.NaN,
            RecallK = o.RecallK,
            RecallAtK = recall,
            RecallPairs = recallPairs,
            Ranking = ranking,
            SamplesPerSecond = result.SamplesPerSecond,
            WallSeconds = wall.Elapsed.TotalSeconds,
            StepP50Ms = result.StepP50Ms,
            StepP99Ms = result.StepP99Ms,
            Calls = result.Calls,
            UpdatesLost = result.UpdatesLost,
            CheckpointErrors = result.CheckpointErrors,
            RollbackGaps = result.RollbackGaps,
            Retries = tables.Sum(t => t.RetryCount),
            Recoveries = RecoveryReport.Of(tables),
            Epochs = [.. result.Epochs.Select(LinkEpoch)],
        };
    }

    /// <summary>An epoch of the shared loop as a link job reports it (its AUC, NaN without held-out pairs).</summary>
    private static LinkEpochReport LinkEpoch(EpochReport e) => new(e.Epoch, e.TrainLoss, e.ValidationAuc ?? double.NaN, e.SamplesPerSecond, e.Seconds);

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
}
