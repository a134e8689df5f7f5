using ParameterServer.Abstractions;
using ParameterServer.Client.Training;
using ParameterServer.Core.Search;

namespace ParameterServer.Client.Query;

/// <summary>
/// Items for a user from a trained rating model: the user's vector scored by dot product against every item row
/// (plus the item bias for <c>mf</c> and <c>dot-bias</c>, added inside the shards), excluding items already seen.
/// The ranking is exact: the model's prediction grows with <c>u·v + b_i</c> for every model.
/// </summary>
public static class Recommender
{
    /// <summary>The best <paramref name="k"/> items for <paramref name="user"/>, with predicted ratings.</summary>
    public static async Task<Recommendations> RecommendAsync(ParameterServerClient ps, string prefix, long user, int k, IReadOnlyCollection<long> seen, long minUpdates = 0, long minCount = 0)
    {
        ArgumentNullException.ThrowIfNull(ps);
        ArgumentNullException.ThrowIfNull(seen);
        var tables = await RatingTables.OpenAsync(ps, prefix);
        var query = new QueryClient(ps);
        float[] u;
        try
        {
            (u, _) = await query.RowAsync(tables.Users.Spec.Name, user);
        }
        catch (KeyNotFoundException)
        {
            throw new KeyNotFoundException($"User {user} has no row in table '{tables.Users.Spec.Name}': the user was not in the training data.");
        }

        float bu = 0f;
        if (tables.UserBias is { } ub)
        {
            var peek = await ps.QueryGrain.Peek(ub.Spec.Name, [user]);
            bu = peek.Rows.Values[0];
        }

        // What the user rated in training or was folded in with (the silo remembers), and what the caller names.
        long[] excluded = [.. (await ps.HistoryAsync(prefix, user)).Union(seen)];
        var result = await query.SearchAsync(tables.Items.Spec.Name, u, u.Length, k, SimilarityMetric.Dot, excluded, tables.ItemBias?.Spec.Name, minUpdates, minCount);
        var hits = result.Hits(0);
        // The model's prediction, unclipped: several items above the top rating would all read 5.000 clipped, and their
        // order would say nothing. A ranking model (bpr) has no rating scale: its prediction is its score.
        var unclipped = hits.Select(h => tables.Model.PredictFromScore(h.Score, bu)).ToArray();
        var predicted = tables.Model.PredictsRatings ? unclipped.Select(p => Math.Clamp(p, tables.Model.Min, tables.Model.Max)).ToArray() : unclipped;
        return new Recommendations(user, tables.Model.Kind, excluded.Length, hits, predicted) { Unclipped = unclipped };
    }
}

/// <summary>Recommended items, best first, with the model's predicted rating of each.</summary>
/// <param name="User">The user.</param>
/// <param name="Model">The rating model.</param>
/// <param name="Excluded">How many items were left out: the user's history on the silo and those the caller named.</param>
/// <param name="Hits">Items; the score is <c>u·v + b_i</c>.</param>
/// <param name="Predicted">Predicted rating of each hit, clipped to the rating range.</param>
public sealed record Recommendations(long User, Core.Models.RatingModelKind Model, int Excluded, SearchHit[] Hits, float[] Predicted)
{
    /// <summary>Each hit's prediction before clipping to the rating range (what ranks them).</summary>
    public float[] Unclipped { get; init; } = Predicted;
}
