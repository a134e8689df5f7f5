namespace ParameterServer.Core.Search;

/// <summary>How a top-k search scores a row against a query vector.</summary>
public enum SimilarityMetric
{
    /// <summary>
    /// <c>q·r / (‖q‖‖r‖)</c>, higher is closer. Row norms are kept current by the store, not recomputed per query.
    /// A zero query vector or a zero row scores 0 (not NaN), so a zero query returns the k lowest ids.
    /// </summary>
    Cosine = 0,

    /// <summary><c>q·r</c> (plus an optional per-row additive term such as an item bias), higher is closer.</summary>
    Dot = 1,

    /// <summary><c>‖q − r‖</c>, lower is closer.</summary>
    Euclidean = 2,
}

/// <summary>Names, parsing and score conventions of <see cref="SimilarityMetric"/>.</summary>
public static class SimilarityMetrics
{
    /// <summary>The names accepted by <see cref="Parse"/>.</summary>
    public static readonly IReadOnlyList<string> Names = ["cosine", "dot", "euclidean"];

    /// <summary>Parses a metric name; an unknown one gets an error that lists the valid ones.</summary>
    public static SimilarityMetric Parse(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "cosine" or "cos" => SimilarityMetric.Cosine,
        "dot" or "ip" or "inner" => SimilarityMetric.Dot,
        "euclidean" or "l2" => SimilarityMetric.Euclidean,
        _ => throw new ArgumentException($"Unknown metric '{name}'. Valid metrics: {string.Join(", ", Names)}."),
    };

    /// <summary>The canonical name of <paramref name="metric"/>.</summary>
    public static string NameOf(SimilarityMetric metric) => metric switch
    {
        SimilarityMetric.Cosine => "cosine",
        SimilarityMetric.Dot => "dot",
        SimilarityMetric.Euclidean => "euclidean",
        _ => throw new ArgumentException($"Unknown metric {(int)metric}. Valid metrics: {string.Join(", ", Names)}."),
    };

    /// <summary>Throws when <paramref name="metric"/> is not a defined value.</summary>
    public static void Validate(SimilarityMetric metric) => _ = NameOf(metric);

    /// <summary>
    /// The ranking key of a raw shard score (higher ranks first): the score itself for cosine and dot, minus the
    /// squared distance for euclidean. Shards report euclidean scores squared so merging never loses order to rounding.
    /// </summary>
    public static float KeyOf(SimilarityMetric metric, float rawScore) => metric == SimilarityMetric.Euclidean ? -rawScore : rawScore;

    /// <summary>The raw score of a ranking key (inverse of <see cref="KeyOf"/>).</summary>
    public static float RawScoreOf(SimilarityMetric metric, float key) => metric == SimilarityMetric.Euclidean ? -key : key;

    /// <summary>The score shown to users: the raw score, except the euclidean distance instead of its square.</summary>
    public static float FinalScore(SimilarityMetric metric, float rawScore) => metric == SimilarityMetric.Euclidean ? MathF.Sqrt(rawScore) : rawScore;
}
