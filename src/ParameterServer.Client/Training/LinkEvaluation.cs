using System.Numerics.Tensors;
using ParameterServer.Core.Data;
using ParameterServer.Core.Kernels;
using ParameterServer.Core.Metrics;
using ParameterServer.Core.Models;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Client.Training;

/// <summary>
/// Held-out evaluation of a link model, reading the rows from the tables: the AUC of held-out positives against
/// negatives drawn once (seeded, checked not to be true pairs, so every epoch is scored on the same samples), and
/// recall@k in the filtered setting: a held-out link's rank among every link of the vocabulary that is not another
/// true link of its entity.
/// </summary>
public sealed class LinkEvaluation
{
    private const int Chunk = 4096;
    private readonly TableClient _entities;
    private readonly TableClient _links;
    private readonly LinkModel _model;
    private readonly LinkPairs _validation;
    private readonly NegativeSampler _truth;
    private readonly LinkTrainingOptions _options;
    private readonly int[] _negatives;
    private readonly LinkPairs _train;

    /// <summary>Prepares the evaluation of <paramref name="validation"/> (numbered like <paramref name="train"/>).</summary>
    public LinkEvaluation(TableClient entities, TableClient links, LinkModel model, LinkPairs train, LinkPairs validation, NegativeSampler truth, LinkTrainingOptions options)
    {
        _entities = entities ?? throw new ArgumentNullException(nameof(entities));
        _links = links ?? throw new ArgumentNullException(nameof(links));
        _train = train ?? throw new ArgumentNullException(nameof(train));
        _model = model;
        _validation = validation ?? throw new ArgumentNullException(nameof(validation));
        _truth = truth ?? throw new ArgumentNullException(nameof(truth));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        var random = new Random(options.Seed ^ 0x2545F491);
        _negatives = new int[validation.Count * options.EvaluationNegatives];
        for (int i = 0; i < validation.Count; i++)
        {
            for (int r = 0; r < options.EvaluationNegatives; r++)
            {
                _negatives[(i * options.EvaluationNegatives) + r] = truth.Draw(validation.Entity[i], random);
            }
        }
    }

    /// <summary>AUC of the held-out positives against their drawn negatives.</summary>
    public async Task<double> AucAsync()
    {
        int m = _options.EvaluationNegatives;
        var positives = new float[_validation.Count];
        var negatives = new float[_negatives.Length];
        for (int start = 0; start < _validation.Count; start += Chunk)
        {
            int n = Math.Min(Chunk, _validation.Count - start);
            var rows = await RowsAsync(_validation.Entity.AsMemory(start, n), _validation.Link.AsMemory(start, n), _negatives.AsMemory(start * m, n * m));
            for (int i = 0; i < n; i++)
            {
                var e = rows.Entity(_validation.Entity[start + i]);
                positives[start + i] = _model.Forward(e, rows.Link(_validation.Link[start + i]));
                for (int r = 0; r < m; r++)
                {
                    int k = ((start + i) * m) + r;
                    negatives[k] = _model.Forward(e, rows.Link(_negatives[k]));
                }
            }
        }

        return Auc.Of(positives, negatives);
    }

    /// <summary>
    /// Recall@k over up to <see cref="LinkTrainingOptions.RecallSamples"/> held-out pairs (a seeded sample): the share
    /// whose link ranks within the k best-scored links of its entity, other true links left out. Returns the recall and
    /// the number of pairs ranked.
    /// </summary>
    public async Task<(double Recall, int Pairs)> RecallAtKAsync()
    {
        int[] sample = [.. Enumerable.Range(0, _validation.Count)];
        new Random(_options.Seed ^ 0x1B873593).Shuffle(sample);
        sample = sample[..Math.Min(sample.Length, _options.RecallSamples)];
        int d = _links.Dim, links = _validation.LinkIds.Length;
        var all = new float[links * d];
        await _links.PullAsync(_validation.LinkIds, all);
        var norms = new float[links];
        for (int j = 0; j < links; j++)
        {
            norms[j] = TensorPrimitives.Norm(all.AsSpan(j * d, d));
        }

        var entityIds = sample.Select(i => _validation.EntityIds[_validation.Entity[i]]).Distinct().ToArray();
        var entityRows = new float[entityIds.Length * d];
        await _entities.PullAsync(entityIds, entityRows);
        var rowOf = entityIds.Select((id, k) => (id, k)).ToDictionary(x => x.id, x => x.k);
        var scores = new float[links];
        int hits = 0;
        foreach (int i in sample)
        {
            int entity = _validation.Entity[i], target = _validation.Link[i];
            var e = entityRows.AsSpan(rowOf[_validation.EntityIds[entity]] * d, d);
            float ne = TensorPrimitives.Norm(e);
            for (int j = 0; j < links; j++)
            {
                float dot = TensorPrimitives.Dot(e, all.AsSpan(j * d, d));
                scores[j] = _model.Score == LinkScore.Dot ? dot : ne > 0 && norms[j] > 0 ? dot / (ne * norms[j]) : 0f;
            }

            float mine = scores[target];
            int better = 0;
            for (int j = 0; j < links; j++)
            {
                if (scores[j] > mine && !_truth.IsTrue(entity, j))
                {
                    better++;
                }
            }

            hits += better < _options.RecallK ? 1 : 0;
        }

        return (sample.Length == 0 ? double.NaN : (double)hits / sample.Length, sample.Length);
    }

    /// <summary>
    /// Ranking figures as for recommenders (<see cref="RankingMetrics"/>), entities in the users' place: for up to
    /// <see cref="LinkTrainingOptions.RecallSamples"/> entities with held-out links (a seeded sample), every link of the
    /// vocabulary scored by the model, the entity's training links left out, the top k measured against its held-out
    /// links; beside the same figures for the links with the most training entities. Rows are read, never created.
    /// </summary>
    public async Task<RankingReport?> RankingAsync()
    {
        var held = new Dictionary<int, List<int>>();
        for (int i = 0; i < _validation.Count; i++)
        {
            (held.TryGetValue(_validation.Entity[i], out var list) ? list : held[_validation.Entity[i]] = []).Add(_validation.Link[i]);
        }

        if (held.Count == 0)
        {
            return null;
        }

        int[] entities = [.. held.Keys.Order()];
        new Random(_options.Seed ^ 0x68E31DA4).Shuffle(entities);
        entities = [.. entities.Take(_options.RecallSamples).Order()];
        var seenOf = new Dictionary<int, List<int>>();
        var popularity = new float[_validation.LinkIds.Length];
        for (int i = 0; i < _train.Count; i++)
        {
            popularity[_train.Link[i]]++;
            if (held.ContainsKey(_train.Entity[i]))
            {
                (seenOf.TryGetValue(_train.Entity[i], out var list) ? list : seenOf[_train.Entity[i]] = []).Add(_train.Link[i]);
            }
        }

        int d = _links.Dim, links = _validation.LinkIds.Length;
        var all = new float[links * d];
        await _links.PeekAsync(_validation.LinkIds, all);
        var entityRows = new float[entities.Length * d];
        await _entities.PeekAsync(entities.Select(n => _validation.EntityIds[n]).ToArray(), entityRows);
        var norms = new float[links];
        for (int j = 0; j < links; j++)
        {
            norms[j] = TensorPrimitives.Norm(all.AsSpan(j * d, d));
        }

        int[][] seen = [.. entities.Select(e => seenOf.TryGetValue(e, out var s) ? s.Distinct().ToArray() : [])];
        int[][] relevant = [.. entities.Select(e => held[e].Distinct().ToArray())];
        int k = _options.RecallK;
        var model = RankingMetrics.Evaluate(links, seen, relevant, k, (u, scores) =>
        {
            var e = entityRows.AsSpan(u * d, d);
            DotRows.Compute(all, e, scores);
            if (_model.Score == LinkScore.Cosine)
            {
                float ne = TensorPrimitives.Norm(e);
                for (int j = 0; j < links; j++)
                {
                    scores[j] = ne > 0 && norms[j] > 0 ? scores[j] / (ne * norms[j]) : 0f;
                }
            }
        });
        var popular = RankingMetrics.Evaluate(links, seen, relevant, k, (_, scores) => popularity.CopyTo(scores));
        return new RankingReport(k, null, model.Users, links, RankingScores.Of(model), RankingScores.Of(popular));
    }

    private async Task<Rows> RowsAsync(ReadOnlyMemory<int> entities, ReadOnlyMemory<int> links, ReadOnlyMemory<int> moreLinks)
    {
        var entityNumbers = entities.ToArray().Distinct().ToArray();
        var linkNumbers = links.ToArray().Concat(moreLinks.ToArray()).Distinct().ToArray();
        int d = _entities.Dim;
        var rows = new Rows(d, entityNumbers, linkNumbers);
        await Task.WhenAll(
            _entities.PullAsync(entityNumbers.Select(n => _validation.EntityIds[n]).ToArray(), rows.EntityValues),
            _links.PullAsync(linkNumbers.Select(n => _validation.LinkIds[n]).ToArray(), rows.LinkValues));
        return rows;
    }

    private sealed class Rows(int dim, int[] entities, int[] links)
    {
        private readonly Dictionary<int, int> _entity = entities.Select((n, k) => (n, k)).ToDictionary(x => x.n, x => x.k);
        private readonly Dictionary<int, int> _link = links.Select((n, k) => (n, k)).ToDictionary(x => x.n, x => x.k);

        public float[] EntityValues { get; } = new float[entities.Length * dim];

        public float[] LinkValues { get; } = new float[links.Length * dim];

        public ReadOnlySpan<float> Entity(int number) => EntityValues.AsSpan(_entity[number] * dim, dim);

        public ReadOnlySpan<float> Link(int number) => LinkValues.AsSpan(_link[number] * dim, dim);
    }
}
