using ParameterServer.Core.Search;

namespace ParameterServer.Testing;

/// <summary>One scored row of the brute-force reference: its id, its slot (row position) and its score in double.</summary>
public readonly record struct ReferenceHit(long Id, int Slot, double Score);

/// <summary>
/// The independent reference for <see cref="ShardSearch"/>: every score computed in double precision with plain
/// loops straight from the metric's definition, ranked by score (descending for cosine and dot, ascending squared
/// distance for euclidean) and then by id ascending. Nothing of the code under test is used.
/// </summary>
public static class BruteForceTopK
{
    /// <summary>
    /// Scores every row <c>r</c> (id <c>ids[r]</c>, values <c>values[r·dim .. r·dim + dim)</c>) against
    /// <paramref name="query"/>, skips the ids in <paramref name="exclude"/>, and returns all remaining rows ranked.
    /// Cosine of a zero query or a zero row is 0; dot adds <c>additive[r]</c> when given; euclidean is the squared distance.
    /// </summary>
    public static List<ReferenceHit> Rank(
        IReadOnlyList<long> ids,
        IReadOnlyList<float> values,
        IReadOnlyList<float> query,
        SimilarityMetric metric,
        IReadOnlyCollection<long>? exclude = null,
        IReadOnlyList<float>? additive = null)
    {
        int dim = query.Count;
        HashSet<long> excluded = exclude is null ? [] : [.. exclude];
        double queryNormSquared = 0;
        for (int j = 0; j < dim; j++)
        {
            queryNormSquared += (double)query[j] * query[j];
        }

        var hits = new List<ReferenceHit>(ids.Count);
        for (int r = 0; r < ids.Count; r++)
        {
            if (excluded.Contains(ids[r]))
            {
                continue;
            }

            double dot = 0, squared = 0, rowNormSquared = 0;
            for (int j = 0; j < dim; j++)
            {
                double x = values[(r * dim) + j];
                double y = query[j];
                dot += x * y;
                squared += (x - y) * (x - y);
                rowNormSquared += x * x;
            }

            double score = metric switch
            {
                SimilarityMetric.Cosine => queryNormSquared == 0 || rowNormSquared == 0 ? 0 : dot / (Math.Sqrt(queryNormSquared) * Math.Sqrt(rowNormSquared)),
                SimilarityMetric.Dot => dot + (additive is null ? 0 : additive[r]),
                SimilarityMetric.Euclidean => squared,
                _ => throw new ArgumentOutOfRangeException(nameof(metric)),
            };
            hits.Add(new ReferenceHit(ids[r], r, score));
        }

        hits.Sort((a, b) =>
        {
            int byScore = metric == SimilarityMetric.Euclidean ? a.Score.CompareTo(b.Score) : b.Score.CompareTo(a.Score);
            return byScore != 0 ? byScore : a.Id.CompareTo(b.Id);
        });
        return hits;
    }

    /// <summary>The best <paramref name="k"/> rows of <see cref="Rank"/>.</summary>
    public static List<ReferenceHit> TopK(
        IReadOnlyList<long> ids,
        IReadOnlyList<float> values,
        IReadOnlyList<float> query,
        SimilarityMetric metric,
        int k,
        IReadOnlyCollection<long>? exclude = null,
        IReadOnlyList<float>? additive = null) =>
        Rank(ids, values, query, metric, exclude, additive).Take(k).ToList();

    /// <summary>Plain double dot product of two equally long vectors.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int j = 0; j < a.Length; j++)
        {
            sum += (double)a[j] * b[j];
        }

        return sum;
    }

    /// <summary>Plain double L2 norm.</summary>
    public static double Norm(ReadOnlySpan<float> a) => Math.Sqrt(Dot(a, a));
}
