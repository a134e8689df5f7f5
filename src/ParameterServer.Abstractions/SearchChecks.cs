using ParameterServer.Core.Kernels;
using ParameterServer.Core.Search;

namespace ParameterServer.Abstractions;

/// <summary>
/// The one validation of a search, run where a request enters (the query grain) and again by each shard (a shard may
/// be called directly): every refusal names the table, the limit and the offending value, and nothing is created.
/// </summary>
public static class SearchChecks
{
    /// <summary><see cref="ArgumentException"/> unless 1 ≤ <paramref name="k"/> ≤ <see cref="QueryLimits.MaxK"/>.</summary>
    public static void K(string table, int k)
    {
        if (k is <= 0 or > QueryLimits.MaxK)
        {
            throw new ArgumentException($"Search of table '{table}' refused: k must be between 1 and {QueryLimits.MaxK}; got {k}.");
        }
    }

    /// <summary>
    /// <see cref="ArgumentException"/> unless <paramref name="queries"/> holds 1 to <see cref="QueryLimits.MaxQueries"/>
    /// finite vectors of dim <paramref name="dim"/> in exactly their bytes.
    /// </summary>
    public static void Queries(string table, RowBlock? queries, int dim)
    {
        if (queries is null)
        {
            throw new ArgumentException($"Search of table '{table}' has no query vectors.");
        }

        if (queries.Rows <= 0 || queries.Rows > QueryLimits.MaxQueries)
        {
            throw new ArgumentException($"Search of table '{table}' refused: {queries.Rows} query vectors; a request carries 1 to {QueryLimits.MaxQueries}.");
        }

        if (queries.Dim != dim || queries.Length != queries.Rows * dim * sizeof(float))
        {
            throw new ArgumentException($"Search of table '{table}' refused: the query vector has dim {queries.Dim} ({queries.Length / sizeof(float) / Math.Max(1, queries.Rows)} values per query) but the table has dim {dim}.");
        }

        int bad = FiniteCheck.IndexOfNonFinite(queries.Values);
        if (bad >= 0)
        {
            throw new ArgumentException($"Search of table '{table}' refused: query {bad / dim} component {bad % dim} is {queries.Values[bad]}; NaN and infinity are not accepted.");
        }
    }

    /// <summary>Everything but the vectors: the metric, k, the exclude list and the bias table's metric.</summary>
    public static void Options(string table, int k, SimilarityMetric metric, long[]? exclude, string? biasTable, int probes = 0)
    {
        SimilarityMetrics.Validate(metric);
        K(table, k);
        if (probes is < 0 or > QueryLimits.MaxProbes)
        {
            throw new ArgumentException($"Search of table '{table}' refused: probes must be 0 (exact) to {QueryLimits.MaxProbes}; got {probes}.");
        }

        if (exclude is null || exclude.Length > QueryLimits.MaxExclude)
        {
            throw new ArgumentException($"Search of table '{table}' refused: the exclude list must hold 0 to {QueryLimits.MaxExclude} ids.");
        }

        if (biasTable is not null && metric != SimilarityMetric.Dot)
        {
            throw new ArgumentException($"Search of table '{table}' refused: a bias table adds to dot scores only, not {SimilarityMetrics.NameOf(metric)}.");
        }
    }

    /// <summary>A whole request against a table of dim <paramref name="dim"/>.</summary>
    public static void Request(SearchRequest request, int dim)
    {
        ArgumentNullException.ThrowIfNull(request);
        Options(request.Table, request.K, request.Metric, request.Exclude, request.BiasTable, request.Probes);
        Queries(request.Table, request.Queries, dim);
    }
}
