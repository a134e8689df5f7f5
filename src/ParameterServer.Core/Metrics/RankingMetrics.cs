using ParameterServer.Core.Search;

namespace ParameterServer.Core.Metrics;

/// <summary>
/// Top-k ranking figures of a recommender over a set of users (binary relevance), each the mean over the users
/// evaluated (those with at least one relevant item): precision@k = hits / k; recall@k = hits / |relevant|;
/// NDCG@k = DCG / ideal DCG with DCG = Σ_{hit at rank r} 1 / log2(r + 1); MAP@k = mean of AP@k = Σ_{hit at rank r}
/// precision@r / min(k, |relevant|); coverage = distinct items recommended to any user / candidate items.
/// </summary>
/// <param name="K">The cut-off.</param>
/// <param name="Users">Users evaluated.</param>
/// <param name="Precision">Mean precision@k.</param>
/// <param name="Recall">Mean recall@k.</param>
/// <param name="Ndcg">Mean NDCG@k.</param>
/// <param name="Map">Mean average precision at k.</param>
/// <param name="Coverage">Share of the candidate items recommended to at least one user.</param>
public sealed record RankingFigures(int K, int Users, double Precision, double Recall, double Ndcg, double Map, double Coverage);

/// <summary>Writes the score of every candidate item for one user (higher ranks first) into <paramref name="scores"/>.</summary>
/// <param name="user">The user's index.</param>
/// <param name="scores">One score per candidate item.</param>
public delegate void ItemScorer(int user, Span<float> scores);

/// <summary>
/// Ranks every candidate item for each user, leaves out the items the user already has (the training items: a
/// recommender does not recommend what the user rated), keeps the top k (ties by lower item index, as a search does)
/// and measures them against the user's relevant held-out items (<see cref="RankingFigures"/>).
/// </summary>
public static class RankingMetrics
{
    /// <summary>
    /// Evaluates <paramref name="scorer"/> over <paramref name="items"/> candidates for the users of
    /// <paramref name="relevant"/> (item indices per user; users without any are skipped), excluding
    /// <paramref name="seen"/> (item indices per user, may be empty).
    /// </summary>
    public static RankingFigures Evaluate(int items, IReadOnlyList<int[]> seen, IReadOnlyList<int[]> relevant, int k, ItemScorer scorer)
    {
        ArgumentNullException.ThrowIfNull(seen);
        ArgumentNullException.ThrowIfNull(relevant);
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegative(items);
        if (seen.Count != relevant.Count)
        {
            throw new ArgumentException($"{seen.Count} lists of seen items for {relevant.Count} users.", nameof(seen));
        }

        var scores = new float[items];
        var recommended = new bool[items];
        var top = new long[k];
        var keys = new float[k];
        var isRelevant = new bool[items];
        var excluded = new bool[items];
        using var heap = new TopKHeap(k);
        double precision = 0, recall = 0, ndcg = 0, map = 0;
        int users = 0;
        for (int u = 0; u < relevant.Count; u++)
        {
            int[] rel = relevant[u];
            if (rel.Length == 0)
            {
                continue;
            }

            scorer(u, scores);
            foreach (int i in seen[u])
            {
                excluded[i] = true;
            }

            for (int i = 0; i < items; i++)
            {
                if (!excluded[i])
                {
                    heap.Offer(scores[i], i);
                }
            }

            int n = heap.Drain(top, keys);
            foreach (int i in rel)
            {
                isRelevant[i] = true;
            }

            int hits = 0;
            double dcg = 0, ap = 0;
            for (int r = 0; r < n; r++)
            {
                int item = (int)top[r];
                recommended[item] = true;
                if (isRelevant[item])
                {
                    hits++;
                    dcg += 1.0 / Math.Log2(r + 2);
                    ap += (double)hits / (r + 1);
                }
            }

            int ideal = Math.Min(k, rel.Length);
            double idcg = 0;
            for (int r = 0; r < ideal; r++)
            {
                idcg += 1.0 / Math.Log2(r + 2);
            }

            precision += (double)hits / k;
            recall += (double)hits / rel.Length;
            ndcg += dcg / idcg;
            map += ap / ideal;
            users++;
            foreach (int i in rel)
            {
                isRelevant[i] = false;
            }

            foreach (int i in seen[u])
            {
                excluded[i] = false;
            }
        }

        int covered = recommended.Count(x => x);
        return users == 0
            ? new RankingFigures(k, 0, double.NaN, double.NaN, double.NaN, double.NaN, 0)
            : new RankingFigures(k, users, precision / users, recall / users, ndcg / users, map / users, items == 0 ? 0 : (double)covered / items);
    }
}
