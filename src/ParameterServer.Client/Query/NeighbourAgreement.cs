using ParameterServer.Abstractions;
using ParameterServer.Core.Search;

namespace ParameterServer.Client.Query;

/// <summary>
/// How often a row's nearest neighbours belong to its own group (for example the planted cluster of a synthetic
/// item): for every given row, its k nearest other rows are searched over the whole table, batched, and the share
/// of them with the same group is averaged. Chance level is the mean group share.
/// </summary>
public static class NeighbourAgreement
{
    /// <summary>The mean share of same-group rows among each row's <paramref name="k"/> nearest others.</summary>
    public static async Task<double> MeasureAsync(ParameterServerClient ps, string table, IReadOnlyDictionary<long, int> groups, int k, SimilarityMetric metric)
    {
        ArgumentNullException.ThrowIfNull(ps);
        ArgumentNullException.ThrowIfNull(groups);
        var query = new QueryClient(ps);
        long[] ids = [.. groups.Keys.Order()];
        var peek = await ps.QueryGrain.Peek(table, ids);
        int dim = peek.Rows.Dim;
        double sum = 0;
        int counted = 0;
        for (int start = 0; start < ids.Length; start += QueryLimits.MaxQueries)
        {
            int n = Math.Min(QueryLimits.MaxQueries, ids.Length - start);
            var result = await query.SearchAsync(table, peek.Rows.Values.Slice(start * dim, n * dim), dim, k + 1, metric);
            for (int q = 0; q < n; q++)
            {
                long self = ids[start + q];
                int same = 0, others = 0;
                foreach (var hit in result.Hits(q))
                {
                    if (hit.Id == self || others == k)
                    {
                        continue;
                    }

                    others++;
                    same += groups.TryGetValue(hit.Id, out int g) && g == groups[self] ? 1 : 0;
                }

                if (others > 0)
                {
                    sum += (double)same / others;
                    counted++;
                }
            }
        }

        return counted == 0 ? 0 : sum / counted;
    }
}
