using System.Runtime.InteropServices;
using System.Diagnostics;
using Orleans.Concurrency;
using ParameterServer.Abstractions;
using ParameterServer.Core.Hashing;
using ParameterServer.Core.Kernels;
using ParameterServer.Core.Search;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Grains;

/// <summary>
/// Fans searches and lookups out to every shard of a table in parallel and merges the answers. Stateless: any
/// number of activations per silo, each local to its caller, so queries never queue behind one another here.
/// </summary>
[StatelessWorker]
public sealed class QueryGrain : Grain, IQueryGrain
{
    /// <inheritdoc/>
    public async Task<SearchResult> Search(SearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long start = Stopwatch.GetTimestamp();
        var spec = await SpecOf(request.Table);
        Validate(request, spec);
        if (request.BiasTable is { } bias)
        {
            var biasSpec = await SpecOf(bias);
            if (biasSpec.Dim != 1)
            {
                throw new ArgumentException($"Bias table '{bias}' has dim {biasSpec.Dim}; an additive term needs dim 1.");
            }
        }

        var excludeByShard = GroupByShard(request.Exclude, spec.Shards);
        var calls = new Task<SearchResult>[spec.Shards];
        for (int s = 0; s < calls.Length; s++)
        {
            var shardRequest = new ShardSearchRequest(request.Queries, request.K, request.Metric, excludeByShard[s], request.BiasTable, request.MinUpdates);
            calls[s] = GrainFactory.GetGrain<IShardGrain>(ShardKey.Of(spec.Name, s)).Search(shardRequest);
        }

        var parts = await Task.WhenAll(calls);
        var merged = Merge(parts, request.Queries.Rows, request.K, request.Metric);
        var metricTag = new KeyValuePair<string, object?>(MetricTag, SimilarityMetrics.NameOf(request.Metric));
        Queries.Add(request.Queries.Rows, Table(spec.Name), metricTag);
        QueryDuration.Record(SecondsSince(start), Table(spec.Name), metricTag);
        return merged;
    }

    /// <inheritdoc/>
    public async Task<PeekResult> Peek(string table, long[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var spec = await SpecOf(table);
        var groups = GroupPositions(ids, spec.Shards);
        var calls = groups.Select(g => (g.Positions, Result: GrainFactory.GetGrain<IShardGrain>(ShardKey.Of(spec.Name, g.Shard))
            .Peek(new PullRequest([.. g.Positions.Select(p => ids[p])])))).ToList();
        await Task.WhenAll(calls.Select(c => c.Result));
        var data = new byte[ids.Length * spec.Dim * sizeof(float)];
        var values = MemoryMarshal.Cast<byte, float>(data.AsSpan());
        var found = new bool[ids.Length];
        var labels = new string?[ids.Length];
        foreach (var (positions, task) in calls)
        {
            var part = task.Result;
            for (int j = 0; j < positions.Count; j++)
            {
                int p = positions[j];
                part.Rows.Values.Slice(j * spec.Dim, spec.Dim).CopyTo(values.Slice(p * spec.Dim, spec.Dim));
                found[p] = part.Found[j];
                labels[p] = part.Labels[j];
            }
        }

        return new PeekResult(new RowBlock(ids.Length, spec.Dim, data), found, labels);
    }

    /// <inheritdoc/>
    public async Task<long[]> FindLabel(string table, string label)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        var spec = await SpecOf(table);
        var parts = await Task.WhenAll(Enumerable.Range(0, spec.Shards)
            .Select(s => GrainFactory.GetGrain<IShardGrain>(ShardKey.Of(spec.Name, s)).FindLabel(label)));
        long[] exact = [.. parts.SelectMany(p => p.Exact).Order()];
        return exact.Length > 0 ? exact : [.. parts.SelectMany(p => p.IgnoringCase).Order()];
    }

    /// <summary>Merges per-shard answers into the best <paramref name="k"/> per query; euclidean scores become distances.</summary>
    internal static SearchResult Merge(SearchResult[] parts, int queries, int k, SimilarityMetric metric)
    {
        var offsets = new int[queries + 1];
        var ids = new List<long>(queries * k);
        var scores = new List<float>(queries * k);
        var labels = new List<string?>(queries * k);
        using var heap = new TopKHeap(k);
        var bestIds = new long[k];
        var bestKeys = new float[k];
        var bestTags = new int[k];
        for (int q = 0; q < queries; q++)
        {
            for (int p = 0; p < parts.Length; p++)
            {
                var part = parts[p];
                var partScores = part.Scores;
                for (int i = part.Offsets[q]; i < part.Offsets[q + 1]; i++)
                {
                    // The tag says which part and which of its (at most k) hits for this query, so the label travels along.
                    heap.Offer(SimilarityMetrics.KeyOf(metric, partScores[i]), part.Ids[i], (p * k) + (i - part.Offsets[q]));
                }
            }

            int n = heap.Drain(bestIds, bestKeys, bestTags);
            for (int j = 0; j < n; j++)
            {
                ids.Add(bestIds[j]);
                scores.Add(SimilarityMetrics.FinalScore(metric, SimilarityMetrics.RawScoreOf(metric, bestKeys[j])));
                int p = bestTags[j] / k;
                labels.Add(parts[p].Labels[parts[p].Offsets[q] + (bestTags[j] % k)]);
            }

            offsets[q + 1] = ids.Count;
        }

        var scoreBytes = MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(scores)).ToArray();
        return new SearchResult(metric, offsets, [.. ids], scoreBytes, [.. labels]);
    }

    private static void Validate(SearchRequest request, TableSpec spec)
    {
        SimilarityMetrics.Validate(request.Metric);
        var queries = request.Queries ?? throw new ArgumentException($"Search of table '{spec.Name}' has no query vectors.");
        if (request.K is <= 0 or > QueryLimits.MaxK)
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: k must be between 1 and {QueryLimits.MaxK}; got {request.K}.");
        }

        if (queries.Rows <= 0 || queries.Rows > QueryLimits.MaxQueries)
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: {queries.Rows} query vectors; a request carries 1 to {QueryLimits.MaxQueries}.");
        }

        if (queries.Dim != spec.Dim || queries.Length != queries.Rows * spec.Dim * sizeof(float))
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: the query vector has dim {queries.Dim} ({queries.Length / sizeof(float) / Math.Max(1, queries.Rows)} values per query) but the table has dim {spec.Dim}.");
        }

        int bad = FiniteCheck.IndexOfNonFinite(queries.Values);
        if (bad >= 0)
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: query {bad / spec.Dim} component {bad % spec.Dim} is {queries.Values[bad]}; NaN and infinity are not accepted.");
        }

        if (request.Exclude is null || request.Exclude.Length > QueryLimits.MaxExclude)
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: the exclude list must hold 0 to {QueryLimits.MaxExclude} ids.");
        }

        if (request.BiasTable is not null && request.Metric != SimilarityMetric.Dot)
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: a bias table adds to dot scores only, not {SimilarityMetrics.NameOf(request.Metric)}.");
        }
    }

    private async Task<TableSpec> SpecOf(string table)
    {
        TableSpec.ValidateName(table);
        return await GrainFactory.GetGrain<ITableGrain>(table).Get()
            ?? throw new KeyNotFoundException($"Unknown table '{table}'. Existing tables: {await ExistingTables()}.");
    }

    private async Task<string> ExistingTables()
    {
        var names = await GrainFactory.GetGrain<ITableCatalogGrain>(0).List();
        return names.Length > 0 ? string.Join(", ", names) : "(none)";
    }

    private static long[][] GroupByShard(long[] ids, int shards)
    {
        var lists = new List<long>?[shards];
        foreach (long id in ids)
        {
            (lists[Mix64.ShardOf(id, shards)] ??= []).Add(id);
        }

        var result = new long[shards][];
        for (int s = 0; s < shards; s++)
        {
            result[s] = lists[s] is { } l ? [.. l.Order()] : [];
        }

        return result;
    }

    private static List<(int Shard, List<int> Positions)> GroupPositions(long[] ids, int shards)
    {
        var lists = new List<int>?[shards];
        for (int i = 0; i < ids.Length; i++)
        {
            (lists[Mix64.ShardOf(ids[i], shards)] ??= []).Add(i);
        }

        return [.. lists.Select((l, s) => (s, l)).Where(x => x.l is not null).Select(x => (x.s, x.l!))];
    }
}
