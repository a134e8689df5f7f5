using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Orleans.Concurrency;
using ParameterServer.Abstractions;
using ParameterServer.Core.Routing;
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
        SearchChecks.Request(request, spec.Dim);
        return await SearchChecked(spec, request, start);
    }

    /// <inheritdoc/>
    public async Task<RowSearchResult> SearchFrom(RowSearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long start = Stopwatch.GetTimestamp();
        var spec = await SpecOf(request.Table);
        SearchChecks.Options(spec.Name, request.K, request.Metric, [], request.BiasTable, request.Probes);
        var row = await Resolve(spec, new RowRef(request.Key, request.Label));
        var vector = await PeekExisting(spec, [row]);
        var search = new SearchRequest(spec.Name, vector, request.K, request.Metric, request.ExcludeSelf ? [row.Id] : [], request.BiasTable, request.MinUpdates, request.MinCount, request.Probes);
        var result = await SearchChecked(spec, search, start);
        return new RowSearchResult(row.Id, row.Label, row.LabelMatches, vector, result);
    }

    /// <inheritdoc/>
    public async Task<AnalogySearchResult> SearchAnalogy(AnalogySearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long start = Stopwatch.GetTimestamp();
        var spec = await SpecOf(request.Table);
        SearchChecks.Options(spec.Name, request.K, request.Metric, [], null);
        RowRef[] positive = request.Positive ?? [], negative = request.Negative ?? [];
        if (positive.Length == 0 || positive.Length + negative.Length > QueryLimits.MaxAnalogyRows)
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: an analogy needs 1 to {QueryLimits.MaxAnalogyRows} rows, at least one positive; got {positive.Length} positive and {negative.Length} negative.");
        }

        var rows = await Task.WhenAll(positive.Concat(negative).Select(r => Resolve(spec, r)));
        var vectors = await PeekExisting(spec, rows);
        // Σ unit(positive) − Σ unit(negative), as word2vec's analogies: each row counts by direction, not length.
        var query = new float[spec.Dim];
        for (int i = 0; i < rows.Length; i++)
        {
            var v = vectors.Values.Slice(i * spec.Dim, spec.Dim);
            float norm = TensorPrimitives.Norm(v);
            if (norm > 0)
            {
                TensorPrimitives.MultiplyAdd(v, (i < positive.Length ? 1f : -1f) / norm, query, query);
            }
        }

        if (TensorPrimitives.Norm(query) == 0)
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: the rows combine to a zero vector ({string.Join(", ", positive.Select(r => r.ToString()))} minus {string.Join(", ", negative.Select(r => r.ToString()))}).");
        }

        var search = new SearchRequest(spec.Name, RowBlock.From(query, 1, spec.Dim), request.K, request.Metric, [.. rows.Select(r => r.Id).Distinct()], null, request.MinUpdates, request.MinCount);
        var result = await SearchChecked(spec, search, start);
        return new AnalogySearchResult(rows[..positive.Length], rows[positive.Length..], result);
    }

    /// <summary>The row <paramref name="row"/> names; <see cref="KeyNotFoundException"/> when no label matches.</summary>
    private async Task<ResolvedRow> Resolve(TableSpec spec, RowRef row)
    {
        if (row is null || (row.Key is null) == (row.Label is null))
        {
            throw new ArgumentException($"Search of table '{spec.Name}' refused: name the row by key or by label, not both or neither.");
        }

        if (row.Label is not { } label)
        {
            return new ResolvedRow(row.Key!.Value, null, 0);
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        long[] found = await FindLabelIn(spec, label);
        return found.Length > 0
            ? new ResolvedRow(found[0], label, found.Length)
            : throw new KeyNotFoundException($"No row labelled \"{label}\" in table '{spec.Name}' (exact or ignoring case). Labels come from embed train --items.");
    }

    /// <summary>The vectors of <paramref name="rows"/> (and their labels, filled in); <see cref="KeyNotFoundException"/> naming the first that does not exist.</summary>
    private async Task<RowBlock> PeekExisting(TableSpec spec, ResolvedRow[] rows)
    {
        var peek = await PeekIn(spec, [.. rows.Select(r => r.Id)]);
        for (int i = 0; i < rows.Length; i++)
        {
            if (!peek.Found[i])
            {
                throw new KeyNotFoundException($"Table '{spec.Name}' has no row with id {rows[i].Id}.");
            }

            rows[i] = rows[i] with { Label = peek.Labels[i] ?? rows[i].Label };
        }

        return peek.Rows;
    }

    private async Task<SearchResult> SearchChecked(TableSpec spec, SearchRequest request, long start)
    {
        if (request.BiasTable is { } bias)
        {
            var biasSpec = await SpecOf(bias);
            if (biasSpec.Dim != 1)
            {
                throw new ArgumentException($"Bias table '{bias}' has dim {biasSpec.Dim}; an additive term needs dim 1.");
            }
        }

        string? countTable = request.MinCount > 0 ? await CountTableOf(spec) : null;

        // Each shard gets the excluded ids it holds, ascending.
        var excludeByShard = new long[spec.Shards][];
        Array.Fill(excludeByShard, []);
        using (var plan = ShardPlan.Of(request.Exclude, spec.Shards))
        {
            foreach (var call in plan.Calls)
            {
                excludeByShard[call.Shard] = [.. call.Ids.Order()];
            }
        }

        var calls = new Task<SearchResult>[spec.Shards];
        for (int s = 0; s < calls.Length; s++)
        {
            var shardRequest = new ShardSearchRequest(request.Queries, request.K, request.Metric, excludeByShard[s], request.BiasTable, request.MinUpdates, countTable, request.MinCount, request.Probes);
            calls[s] = ShardOf(spec, s).Search(shardRequest);
        }

        var parts = await Task.WhenAll(calls);
        var merged = SearchMerge.Merge([.. parts.Select(p => new ShardHits(p.Offsets, p.Ids, p.ScoreBytes))], request.Queries.Rows, request.K, request.Metric);
        var labels = new string?[merged.Ids.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = parts[merged.Parts[i]].Labels[merged.Indices[i]];
        }

        var metricTag = new KeyValuePair<string, object?>(MetricTag, SimilarityMetrics.NameOf(request.Metric));
        Queries.Add(request.Queries.Rows, Table(spec.Name), metricTag);
        QueryDuration.Record(SecondsSince(start), Table(spec.Name), metricTag);
        return new SearchResult(request.Metric, merged.Offsets, merged.Ids, MemoryMarshal.AsBytes(merged.Scores.AsSpan()).ToArray(), labels)
        {
            IndexedShards = parts.Sum(p => p.IndexedShards),
        };
    }

    /// <inheritdoc/>
    public async Task<PeekResult> Peek(string table, long[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return await PeekIn(await SpecOf(table), ids);
    }

    private async Task<PeekResult> PeekIn(TableSpec spec, long[] ids)
    {
        using var plan = ShardPlan.Of(ids, spec.Shards);
        var calls = plan.Calls.Select(call => ShardOf(spec, call.Shard).Peek(new PullRequest(call.Ids))).ToArray();
        await Task.WhenAll(calls);
        var data = new byte[ids.Length * spec.Dim * sizeof(float)];
        var values = MemoryMarshal.Cast<byte, float>(data.AsSpan());
        var found = new bool[ids.Length];
        var labels = new string?[ids.Length];
        for (int c = 0; c < calls.Length; c++)
        {
            var call = plan.Calls[c];
            var part = calls[c].Result;
            plan.Scatter(call, part.Rows.Values, values, spec.Dim);
            plan.Scatter<bool>(call, part.Found, found, 1);
            plan.Scatter<string?>(call, part.Labels, labels, 1);
        }

        return new PeekResult(new RowBlock(ids.Length, spec.Dim, data), found, labels);
    }

    /// <inheritdoc/>
    public async Task<long[]> FindLabel(string table, string label)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        return await FindLabelIn(await SpecOf(table), label);
    }

    private async Task<long[]> FindLabelIn(TableSpec spec, string label)
    {
        var parts = await Task.WhenAll(Enumerable.Range(0, spec.Shards).Select(s => ShardOf(spec, s).FindLabel(label)));
        long[] exact = [.. parts.SelectMany(p => p.Exact).Order()];
        return exact.Length > 0 ? exact : [.. parts.SelectMany(p => p.IgnoringCase).Order()];
    }

    /// <summary>The count table of <paramref name="spec"/>'s table (<see cref="TrainingCounts"/>); an error when it has none.</summary>
    private async Task<string> CountTableOf(TableSpec spec)
    {
        var metadata = await GrainFactory.GetGrain<ITableGrain>(spec.Name).GetMetadata();
        return metadata.TryGetValue(TrainingCounts.MetadataKey, out var table) && await GrainFactory.GetGrain<ITableGrain>(table).Get() is not null
            ? table
            : throw new ArgumentException($"Search of table '{spec.Name}' refused: it has no training counts to filter on (a rating job writes them when it ends); use --min-updates instead.");
    }

    private IShardGrain ShardOf(TableSpec spec, int shard) => GrainFactory.GetGrain<IShardGrain>(ShardKey.Of(spec.Name, shard));

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
}
