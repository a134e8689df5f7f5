using System.Runtime.InteropServices;
using ParameterServer.Core.Search;

namespace ParameterServer.Abstractions;

/// <summary>
/// How many times each row was seen in the training data of the job that trained its table: a dim-1 table of counts
/// (<c>{table}_count</c>, written when the job ends) named by the table's <see cref="MetadataKey"/>. Searches filter
/// on it (<see cref="SearchRequest.MinCount"/>): a film rated once keeps a vector close to its random start.
/// </summary>
public static class TrainingCounts
{
    /// <summary>The table metadata key that names a table's count table.</summary>
    public const string MetadataKey = "count_table";

    /// <summary>The count table of <paramref name="table"/>.</summary>
    public static string TableOf(string table) => table + "_count";
}

/// <summary>Limits of a search request; bigger requests are refused with an error that names the limit.</summary>
public static class QueryLimits
{
    /// <summary>Largest k.</summary>
    public const int MaxK = ShardSearch.MaxK;

    /// <summary>Most query vectors in one request.</summary>
    public const int MaxQueries = 1024;

    /// <summary>Most lists an approximate search may probe per shard.</summary>
    public const int MaxProbes = 65_536;

    /// <summary>Most excluded ids in one request.</summary>
    public const int MaxExclude = 1_000_000;

    /// <summary>Most rows (positive and negative together) an analogy combines.</summary>
    public const int MaxAnalogyRows = 64;
}

/// <summary>
/// A top-k search of a table: <see cref="Queries"/> holds one or more query vectors of the table's dim. Rows in
/// <see cref="Exclude"/> never appear. With <see cref="BiasTable"/> (dot metric only), each row's score gets the value
/// of the same id in that dim-1 table added (an item bias, for recommendations). Rows updated fewer than
/// <see cref="MinUpdates"/> times are left out, and so are rows seen fewer than <see cref="MinCount"/> times in the
/// training data of the job that trained the table (its count table, see <see cref="TrainingCounts"/>). With
/// <see cref="Probes"/> above 0 the search is approximate: each shard scans only the rows of the <see cref="Probes"/>
/// lists of its inverted-file index nearest to the query (and the rows added since the index was built); a shard
/// whose index is not built yet starts building it in the background and answers exactly meanwhile.
/// </summary>
[GenerateSerializer, Immutable, Alias("ps.SearchRequest")]
public sealed record SearchRequest(
    [property: Id(0)] string Table,
    [property: Id(1)] RowBlock Queries,
    [property: Id(2)] int K,
    [property: Id(3)] SimilarityMetric Metric,
    [property: Id(4)] long[] Exclude,
    [property: Id(5)] string? BiasTable = null,
    [property: Id(6)] long MinUpdates = 0,
    [property: Id(7)] long MinCount = 0,
    [property: Id(8)] int Probes = 0);

/// <summary>The part of a search one shard answers; <see cref="Exclude"/> holds only its own ids, ascending.</summary>
[GenerateSerializer, Immutable, Alias("ps.ShardSearchRequest")]
public sealed record ShardSearchRequest(
    [property: Id(0)] RowBlock Queries,
    [property: Id(1)] int K,
    [property: Id(2)] SimilarityMetric Metric,
    [property: Id(3)] long[] Exclude,
    [property: Id(4)] string? BiasTable = null,
    [property: Id(5)] long MinUpdates = 0,
    [property: Id(6)] string? CountTable = null,
    [property: Id(7)] long MinCount = 0,
    [property: Id(8)] int Probes = 0);

/// <summary>
/// A top-k search from a row of the table, named by <see cref="Key"/> or by <see cref="Label"/> (exactly one; a
/// label matches exactly, else ignoring case, and the lowest matching id is used), resolved on the silo in the same
/// call: the caller does not fetch the row's vector to send it back. With <see cref="ExcludeSelf"/> the row itself
/// is left out of its hits.
/// </summary>
[GenerateSerializer, Immutable, Alias("ps.RowSearchRequest")]
public sealed record RowSearchRequest(
    [property: Id(0)] string Table,
    [property: Id(1)] long? Key,
    [property: Id(2)] string? Label,
    [property: Id(3)] int K,
    [property: Id(4)] SimilarityMetric Metric,
    [property: Id(5)] bool ExcludeSelf = false,
    [property: Id(6)] string? BiasTable = null,
    [property: Id(7)] long MinUpdates = 0,
    [property: Id(8)] long MinCount = 0,
    [property: Id(9)] int Probes = 0);

/// <summary>The answer of a <see cref="RowSearchRequest"/>: the row searched from, and its hits.</summary>
[GenerateSerializer, Immutable, Alias("ps.RowSearchResult")]
public sealed record RowSearchResult(
    [property: Id(0)] long Id,
    [property: Id(1)] string? Label,
    [property: Id(2)] int LabelMatches,
    [property: Id(3)] RowBlock Vector,
    [property: Id(4)] SearchResult Result);

/// <summary>A row named by its key or by its label (exactly one; a label matches exactly, else ignoring case, lowest id first).</summary>
[GenerateSerializer, Immutable, Alias("ps.RowRef")]
public sealed record RowRef([property: Id(0)] long? Key, [property: Id(1)] string? Label)
{
    /// <summary>The row with id <paramref name="key"/>.</summary>
    public static RowRef ById(long key) => new(key, null);

    /// <summary>The row labelled <paramref name="label"/>.</summary>
    public static RowRef ByLabel(string label) => new(null, label);

    /// <inheritdoc/>
    public override string ToString() => Label is { } l ? $"\"{l}\"" : $"id {Key}";
}

/// <summary>A row a search started from, as the silo resolved it.</summary>
[GenerateSerializer, Immutable, Alias("ps.ResolvedRow")]
public sealed record ResolvedRow([property: Id(0)] long Id, [property: Id(1)] string? Label, [property: Id(2)] int LabelMatches);

/// <summary>
/// Vector arithmetic over rows, as in word2vec analogies ("king" − "man" + "woman"): the query is the sum of the unit
/// vectors of <see cref="Positive"/> minus those of <see cref="Negative"/>, searched by <see cref="Metric"/>
/// (cosine unless asked otherwise), the rows named left out of the hits. Resolved on the silo in one call.
/// </summary>
[GenerateSerializer, Immutable, Alias("ps.AnalogySearchRequest")]
public sealed record AnalogySearchRequest(
    [property: Id(0)] string Table,
    [property: Id(1)] RowRef[] Positive,
    [property: Id(2)] RowRef[] Negative,
    [property: Id(3)] int K,
    [property: Id(4)] SimilarityMetric Metric = SimilarityMetric.Cosine,
    [property: Id(5)] long MinUpdates = 0,
    [property: Id(6)] long MinCount = 0);

/// <summary>The answer of an <see cref="AnalogySearchRequest"/>: the rows it combined and the hits.</summary>
[GenerateSerializer, Immutable, Alias("ps.AnalogySearchResult")]
public sealed record AnalogySearchResult(
    [property: Id(0)] ResolvedRow[] Positive,
    [property: Id(1)] ResolvedRow[] Negative,
    [property: Id(2)] SearchResult Result);

/// <summary>
/// Hits of a batch of queries, best first per query: query q's hits are at <c>[Offsets[q], Offsets[q+1])</c> of
/// <see cref="Ids"/>, <see cref="ScoreBytes"/> (floats as one bulk block) and <see cref="Labels"/>. From a shard,
/// euclidean scores are squared distances; from the query grain they are distances.
/// </summary>
[GenerateSerializer, Immutable, Alias("ps.SearchResult")]
public sealed class SearchResult
{
    /// <summary>Creates a result.</summary>
    public SearchResult(SimilarityMetric metric, int[] offsets, long[] ids, byte[] scoreBytes, string?[] labels)
    {
        Metric = metric;
        Offsets = offsets;
        Ids = ids;
        ScoreBytes = scoreBytes;
        Labels = labels;
    }

    /// <summary>The metric of the scores.</summary>
    [Id(0)] public SimilarityMetric Metric { get; }

    /// <summary>Start of each query's hits, plus the end: <c>queries + 1</c> entries.</summary>
    [Id(1)] public int[] Offsets { get; }

    /// <summary>Row ids.</summary>
    [Id(2)] public long[] Ids { get; }

    /// <summary>Scores as little-endian floats.</summary>
    [Id(3)] public byte[] ScoreBytes { get; }

    /// <summary>Row labels (null where a row has none).</summary>
    [Id(4)] public string?[] Labels { get; }

    /// <summary>Shards that answered an approximate search from their index (the others scanned every row).</summary>
    [Id(5)] public int IndexedShards { get; init; }

    /// <summary>Number of queries.</summary>
    public int Queries => Offsets.Length - 1;

    /// <summary>Every score.</summary>
    public ReadOnlySpan<float> Scores => MemoryMarshal.Cast<byte, float>(ScoreBytes);

    /// <summary>The hits of query <paramref name="q"/>, best first.</summary>
    public SearchHit[] Hits(int q)
    {
        int from = Offsets[q], to = Offsets[q + 1];
        var hits = new SearchHit[to - from];
        var scores = Scores;
        for (int i = from; i < to; i++)
        {
            hits[i - from] = new SearchHit(i - from + 1, Ids[i], scores[i], Labels[i]);
        }

        return hits;
    }
}

/// <summary>A shard's index for approximate search, as built.</summary>
/// <param name="Rows">Rows indexed.</param>
/// <param name="Lists">Lists (centroids of the coarse quantizer).</param>
/// <param name="Bytes">Memory the index holds (it keeps its own copy of the rows, list by list).</param>
/// <param name="Seconds">Time the build took.</param>
[GenerateSerializer, Immutable, Alias("ps.IndexInfo")]
public sealed record IndexInfo([property: Id(0)] int Rows, [property: Id(1)] int Lists, [property: Id(2)] long Bytes, [property: Id(3)] double Seconds);

/// <summary>One hit: its rank (1 = closest), row id, score and label.</summary>
public readonly record struct SearchHit(int Rank, long Id, float Score, string? Label);

/// <summary>Rows read without being created: <see cref="Found"/> is false where a row does not exist.</summary>
[GenerateSerializer, Immutable, Alias("ps.PeekResult")]
public sealed record PeekResult(
    [property: Id(0)] RowBlock Rows,
    [property: Id(1)] bool[] Found,
    [property: Id(2)] string?[] Labels);

/// <summary>Ids whose label matches exactly, and those that match only ignoring case.</summary>
[GenerateSerializer, Immutable, Alias("ps.LabelMatches")]
public sealed record LabelMatches(
    [property: Id(0)] long[] Exact,
    [property: Id(1)] long[] IgnoringCase);

/// <summary>
/// Searches and lookups over every shard of a table (key 0). A stateless worker: each silo runs as many activations
/// as it needs, close to the caller; each fans out to the shards in parallel and merges.
/// </summary>
[Alias("ps.IQueryGrain")]
public interface IQueryGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Exact top-k of every query vector over the whole table, merged from every shard (ties by lower id).
    /// Unknown table: <see cref="KeyNotFoundException"/>; wrong dim, k out of 1..<see cref="QueryLimits.MaxK"/>,
    /// non-finite values or a request over the limits: <see cref="ArgumentException"/>. Nothing is created.
    /// </summary>
    [Alias("Search")]
    Task<SearchResult> Search(SearchRequest request);

    /// <summary>
    /// Top-k from a row of the table named by key or label, in one call (see <see cref="RowSearchRequest"/>). No such
    /// row or label: <see cref="KeyNotFoundException"/>; otherwise as <see cref="Search"/>.
    /// </summary>
    [Alias("SearchFrom")]
    Task<RowSearchResult> SearchFrom(RowSearchRequest request);

    /// <summary>
    /// Top-k of a combination of rows (see <see cref="AnalogySearchRequest"/>), in one call. A row that does not
    /// exist: <see cref="KeyNotFoundException"/> naming it; no positive row, or more than
    /// <see cref="QueryLimits.MaxAnalogyRows"/> rows: <see cref="ArgumentException"/>.
    /// </summary>
    [Alias("SearchAnalogy")]
    Task<AnalogySearchResult> SearchAnalogy(AnalogySearchRequest request);

    /// <summary>The rows of <paramref name="ids"/> without creating any.</summary>
    [Alias("Peek")]
    Task<PeekResult> Peek(string table, long[] ids);

    /// <summary>Ids labelled exactly <paramref name="label"/>, ascending; if there are none, those equal ignoring case.</summary>
    [Alias("FindLabel")]
    Task<long[]> FindLabel(string table, string label);
}
