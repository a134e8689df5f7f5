using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Abstractions.Telemetry;
using ParameterServer.Core.Search;

namespace ParameterServer.Client.Query;

/// <summary>
/// Nearest-neighbour queries over a table through the query grain: by row id, by label or by vector, exact over every
/// shard and always current (the shards score their live rows).
/// </summary>
public sealed class QueryClient
{
    private readonly ParameterServerClient _ps;

    /// <summary>Creates a client.</summary>
    public QueryClient(ParameterServerClient ps) => _ps = ps ?? throw new ArgumentNullException(nameof(ps));

    private IQueryGrain Grain => _ps.QueryGrain;

    /// <summary>Top-k of each query vector in <paramref name="queries"/> (<c>count x dim</c>, row-major) over <paramref name="table"/>.</summary>
    public Task<SearchResult> SearchAsync(string table, ReadOnlySpan<float> queries, int dim, int k, SimilarityMetric metric, long[]? exclude = null, string? biasTable = null, long minUpdates = 0, long minCount = 0, int probes = 0)
    {
        if (dim <= 0 || queries.Length == 0 || queries.Length % dim != 0)
        {
            throw new ArgumentException($"{queries.Length} query values are not a whole, non-zero number of vectors of dim {dim}.");
        }

        var block = RowBlock.From(queries, queries.Length / dim, dim);
        return Timed(Grain.Search(new SearchRequest(table, block, k, metric, exclude ?? [], biasTable, minUpdates, minCount, probes)), table, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Builds the index for approximate searches (<see cref="SearchRequest.Probes"/>) by <paramref name="metric"/> of
    /// every shard of <paramref name="table"/> now, from the rows as they are, with <paramref name="lists"/> lists per
    /// shard (0: about √rows of the shard); one answer per shard. Searches with probes build it in the background
    /// otherwise.
    /// </summary>
    public async Task<IndexInfo[]> BuildIndexAsync(string table, SimilarityMetric metric, int lists = 0)
    {
        var spec = (await _ps.OpenTableAsync(table)).Spec;
        return await Task.WhenAll(Enumerable.Range(0, spec.Shards).Select(s => _ps.ShardGrain(table, s).BuildIndex(lists, metric)));
    }

    private static async Task<SearchResult> Timed(Task<SearchResult> search, string table, long start)
    {
        var result = await search;
        ParameterServerTelemetry.ClientDuration.Record(ParameterServerTelemetry.SecondsSince(start), ParameterServerTelemetry.Table(table), SearchTag);
        return result;
    }

    private static readonly KeyValuePair<string, object?> SearchTag = ParameterServerTelemetry.Operation("search");

    /// <summary>The row <paramref name="id"/> of <paramref name="table"/>; <see cref="KeyNotFoundException"/> when it does not exist.</summary>
    public async Task<(float[] Vector, string? Label)> RowAsync(string table, long id)
    {
        var peek = await Grain.Peek(table, [id]);
        if (!peek.Found[0])
        {
            throw new KeyNotFoundException($"Table '{table}' has no row with id {id}.");
        }

        return (peek.Rows.Values.ToArray(), peek.Labels[0]);
    }

    /// <summary>
    /// The id of the row labelled <paramref name="label"/> (exact match, else ignoring case; the lowest id when several
    /// match). <see cref="KeyNotFoundException"/> "no row labelled ..." when none does.
    /// </summary>
    public async Task<(long Id, int Matches)> ResolveLabelAsync(string table, string label)
    {
        var ids = await Grain.FindLabel(table, label);
        if (ids.Length == 0)
        {
            throw new KeyNotFoundException($"No row labelled \"{label}\" in table '{table}' (exact or ignoring case). Labels come from embed train --items.");
        }

        return (ids[0], ids.Length);
    }

    /// <summary>
    /// The <paramref name="k"/> rows closest to <paramref name="target"/>. A row named by key or label is resolved on
    /// the silo, in the same call as the search (one round trip).
    /// </summary>
    public async Task<Neighbours> NearestAsync(string table, QueryTarget target, int k, SimilarityMetric metric, bool excludeSelf = false, long minUpdates = 0, long minCount = 0, int probes = 0)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Vector is { } vector)
        {
            var result = await SearchAsync(table, vector, vector.Length, k, metric, minUpdates: minUpdates, minCount: minCount, probes: probes);
            return new Neighbours(table, metric, null, null, 0, result.Hits(0), result.IndexedShards);
        }

        long start = Stopwatch.GetTimestamp();
        var answer = await Grain.SearchFrom(new RowSearchRequest(table, target.Key, target.Label, k, metric, excludeSelf, MinUpdates: minUpdates, MinCount: minCount, Probes: probes));
        ParameterServerTelemetry.ClientDuration.Record(ParameterServerTelemetry.SecondsSince(start), ParameterServerTelemetry.Table(table), SearchTag);
        return new Neighbours(table, metric, answer.Id, answer.Label, answer.LabelMatches, answer.Result.Hits(0), answer.Result.IndexedShards);
    }

    /// <summary>
    /// The <paramref name="k"/> rows closest to Σ unit(<paramref name="positive"/>) − Σ unit(<paramref name="negative"/>)
    /// (word2vec-style analogies), the named rows left out; resolved on the silo in one call.
    /// </summary>
    public async Task<AnalogySearchResult> AnalogyAsync(string table, RowRef[] positive, RowRef[] negative, int k, SimilarityMetric metric = SimilarityMetric.Cosine, long minUpdates = 0, long minCount = 0)
    {
        long start = Stopwatch.GetTimestamp();
        var answer = await Grain.SearchAnalogy(new AnalogySearchRequest(table, positive, negative, k, metric, minUpdates, minCount));
        ParameterServerTelemetry.ClientDuration.Record(ParameterServerTelemetry.SecondsSince(start), ParameterServerTelemetry.Table(table), SearchTag);
        return answer;
    }

    /// <summary>
    /// The rows of a <c>--positive</c>/<c>--negative</c> value: terms separated by commas not followed by a space
    /// (<c>king,woman</c>; a title such as <c>Good, the Bad and the Ugly, The (1966)</c> stays whole), each a label,
    /// or <c>id:N</c> for the row with id N.
    /// </summary>
    public static RowRef[] ParseTerms(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var terms = new List<RowRef>();
        foreach (string value in values)
        {
            foreach (string term in System.Text.RegularExpressions.Regex.Split(value, ",(?! )"))
            {
                string t = term.Trim();
                if (t.Length == 0)
                {
                    throw new ArgumentException($"'{value}' holds an empty term; separate labels with commas, e.g. king,woman.");
                }

                terms.Add(t.StartsWith("id:", StringComparison.Ordinal)
                    ? RowRef.ById(long.TryParse(t.AsSpan(3), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long id) ? id : throw new ArgumentException($"'{t}' is not id:N with N a whole number."))
                    : RowRef.ByLabel(t));
            }
        }

        return [.. terms];
    }
}

/// <summary>The answer of a neighbour query.</summary>
/// <param name="Table">The table searched.</param>
/// <param name="Metric">The metric.</param>
/// <param name="QueryId">The row queried, when the query named one.</param>
/// <param name="QueryLabel">Its label.</param>
/// <param name="LabelMatches">How many rows carried the label (the lowest id was used).</param>
/// <param name="Hits">Best first.</param>
/// <param name="IndexedShards">Shards that answered an approximate search from their index (0: the answer is exact).</param>
public sealed record Neighbours(string Table, SimilarityMetric Metric, long? QueryId, string? QueryLabel, int LabelMatches, SearchHit[] Hits, int IndexedShards = 0);
