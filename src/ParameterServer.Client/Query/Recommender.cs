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
    public static async Task<Recommendations> RecommendAsync(ParameterServerClient ps, string prefix, long user, int k, IReadOnlyCollection<long> seen, long minUpdates = 0)
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

        var result = await query.SearchAsync(tables.Items.Spec.Name, u, u.Length, k, SimilarityMetric.Dot, [.. seen], tables.ItemBias?.Spec.Name, minUpdates);
        var hits = result.Hits(0);
        var predicted = hits.Select(h => Math.Clamp(tables.Model.PredictFromScore(h.Score, bu), tables.Model.Min, tables.Model.Max)).ToArray();
        return new Recommendations(user, tables.Model.Kind, seen.Count, hits, predicted);
    }
}

/// <summary>Recommended items, best first, with the model's predicted rating of each.</summary>
/// <param name="User">The user.</param>
/// <param name="Model">The rating model.</param>
/// <param name="Excluded">How many seen items were excluded.</param>
/// <param name="Hits">Items; the score is <c>u·v + b_i</c>.</param>
/// <param name="Predicted">Predicted rating of each hit, clipped to the rating range.</param>
public sealed record Recommendations(long User, Core.Models.RatingModelKind Model, int Excluded, SearchHit[] Hits, float[] Predicted);
