using System.Numerics.Tensors;
using System.Text.Json.Serialization;
using ParameterServer.Client.Query;
using ParameterServer.Core.Data;
using ParameterServer.Core.Kernels;
using ParameterServer.Core.Metrics;

namespace ParameterServer.Client.Training;

/// <summary>One recommender's ranking figures in a report (see <see cref="RankingFigures"/> for the definitions).</summary>
public sealed record RankingScores(
    [property: JsonPropertyName("precision_at_k")] double Precision,
    [property: JsonPropertyName("recall_at_k")] double Recall,
    [property: JsonPropertyName("ndcg_at_k")] double Ndcg,
    [property: JsonPropertyName("map_at_k")] double Map,
    [property: JsonPropertyName("coverage")] double Coverage)
{
    internal static RankingScores Of(RankingFigures f) => new(f.Precision, f.Recall, f.Ndcg, f.Map, f.Coverage);
}

/// <summary>
/// Top-k ranking quality of a trained model on the validation split: for each validation user with at least one
/// relevant rating (≥ <see cref="Threshold"/>; for link models every held-out link is relevant and there is none), every item seen in training is ranked by the model (items the user
/// rated in training left out), and the top <see cref="K"/> are measured against the relevant ones; the same for a
/// most-popular baseline (items ranked by their training count), computed in the same run.
/// </summary>
public sealed record RankingReport(
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("relevant_threshold"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Threshold,
    [property: JsonPropertyName("users")] int Users,
    [property: JsonPropertyName("candidate_items")] int CandidateItems,
    [property: JsonPropertyName("model")] RankingScores Model,
    [property: JsonPropertyName("most_popular")] RankingScores MostPopular);

/// <summary>Computes a <see cref="RankingReport"/> for rating tables, reading rows without creating any.</summary>
public static class RatingRanking
{
    /// <summary>
    /// Ranks for at most <paramref name="maxUsers"/> validation users (a seeded sample when there are more): the
    /// candidates are the items of <paramref name="train"/>; a user's seen items are theirs in <paramref name="train"/>;
    /// relevant are their <paramref name="validation"/> items rated ≥ <paramref name="threshold"/> that are candidates.
    /// Null when no validation user has a relevant item.
    /// </summary>
    public static async Task<RankingReport?> EvaluateAsync(ParameterServerClient ps, RatingTables tables, Ratings train, Ratings validation, int k, double threshold, int maxUsers, int seed)
    {
        ArgumentNullException.ThrowIfNull(ps);
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxUsers);

        // Candidates: every item of the training set, with its training count (the popularity baseline's score).
        var itemIndex = new Dictionary<long, int>();
        var popularity = new List<float>();
        foreach (long item in train.Items)
        {
            if (!itemIndex.TryGetValue(item, out int i))
            {
                itemIndex[item] = i = popularity.Count;
                popularity.Add(0);
            }

            popularity[i]++;
        }

        var relevantOf = new Dictionary<long, List<int>>();
        for (int r = 0; r < validation.Count; r++)
        {
            if (validation.Values[r] >= threshold && itemIndex.TryGetValue(validation.Items[r], out int i))
            {
                (relevantOf.TryGetValue(validation.Users[r], out var list) ? list : relevantOf[validation.Users[r]] = []).Add(i);
            }
        }

        var seenOf = new Dictionary<long, List<int>>();
        for (int r = 0; r < train.Count; r++)
        {
            if (relevantOf.ContainsKey(train.Users[r]))
            {
                (seenOf.TryGetValue(train.Users[r], out var list) ? list : seenOf[train.Users[r]] = []).Add(itemIndex[train.Items[r]]);
            }
        }

        // Users the model knows (trained) and who have something relevant to find; a seeded sample past maxUsers.
        long[] users = [.. relevantOf.Keys.Where(seenOf.ContainsKey).Order()];
        if (users.Length == 0)
        {
            return null;
        }

        if (users.Length > maxUsers)
        {
            new Random(seed).Shuffle(users);
            users = [.. users.Take(maxUsers).Order()];
        }

        long[] items = new long[itemIndex.Count];
        foreach (var (id, i) in itemIndex)
        {
            items[i] = id;
        }

        int dim = tables.Items.Dim;
        var (itemVectors, _) = await RowPeek.PeekAsync(ps, tables.Items.Spec.Name, items, dim);
        var (userVectors, _) = await RowPeek.PeekAsync(ps, tables.Users.Spec.Name, users, dim);
        // Item bias shifts every user's scores of an item alike; the user bias and the mean shift all of a user's
        // scores, and the model's output is monotone in u·v + b_i: ranking by u·v + b_i is ranking by the prediction.
        float[]? itemBias = tables.ItemBias is { } ib ? (await RowPeek.PeekAsync(ps, ib.Spec.Name, items, 1)).Values : null;

        int[][] seen = [.. users.Select(u => seenOf[u].ToArray())];
        int[][] relevant = [.. users.Select(u => relevantOf[u].Distinct().ToArray())];
        var model = RankingMetrics.Evaluate(items.Length, seen, relevant, k, (u, scores) =>
        {
            DotRows.Compute(itemVectors, userVectors.AsSpan(u * dim, dim), scores);
            if (itemBias is not null)
            {
                TensorPrimitives.Add(scores, itemBias, scores);
            }
        });
        float[] pop = [.. popularity];
        var popular = RankingMetrics.Evaluate(items.Length, seen, relevant, k, (_, scores) => pop.CopyTo(scores));
        return new RankingReport(k, threshold, model.Users, items.Length, RankingScores.Of(model), RankingScores.Of(popular));
    }
}
