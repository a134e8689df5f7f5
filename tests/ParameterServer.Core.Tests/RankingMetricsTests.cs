using ParameterServer.Core.Metrics;

namespace ParameterServer.Core.Tests;

/// <summary>Ranking figures against a sort-based reference and a case worked by hand.</summary>
public class RankingMetricsTests
{
    [Fact]
    public void A_case_worked_by_hand()
    {
        // 6 items, scores 5,4,3,2,1,0 (item 0 best). User 0 has seen item 0; relevant {1, 3, 5}; k = 3.
        // Top 3 without item 0: 1 (hit), 2, 3 (hit). precision 2/3, recall 2/3,
        // DCG = 1/log2(2) + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3) + 1/log2(4), AP = (1/1 + 2/3) / 3.
        float[] scores = [5, 4, 3, 2, 1, 0];
        var f = RankingMetrics.Evaluate(6, [[0]], [[1, 3, 5]], 3, (_, s) => scores.CopyTo(s));
        double idcg = 1 + (1 / Math.Log2(3)) + 0.5;
        Assert.Equal(1, f.Users);
        Assert.Equal(2.0 / 3, f.Precision, 12);
        Assert.Equal(2.0 / 3, f.Recall, 12);
        Assert.Equal(1.5 / idcg, f.Ndcg, 12);
        Assert.Equal((1 + (2.0 / 3)) / 3, f.Map, 12);
        Assert.Equal(3.0 / 6, f.Coverage, 12);
    }

    [Theory]
    [InlineData(1, 50, 5)]
    [InlineData(10, 200, 10)]
    [InlineData(3, 20, 50)]
    public void Random_cases_match_a_sort_based_reference(int seed, int items, int k)
    {
        var rng = new Random(seed);
        const int users = 40;
        // Scores on a coarse grid, so ties (broken by lower item index) happen.
        float[][] scores = [.. Enumerable.Range(0, users).Select(_ => Enumerable.Range(0, items).Select(_ => (float)rng.Next(0, 8)).ToArray())];
        int[][] seen = [.. Enumerable.Range(0, users).Select(_ => Enumerable.Range(0, items).Where(_ => rng.NextDouble() < 0.2).ToArray())];
        int[][] relevant = [.. Enumerable.Range(0, users).Select(u => Enumerable.Range(0, items).Where(i => !seen[u].Contains(i) && rng.NextDouble() < 0.1).ToArray())];
        var f = RankingMetrics.Evaluate(items, seen, relevant, k, (u, s) => scores[u].CopyTo(s));

        double p = 0, r = 0, n = 0, m = 0;
        int counted = 0;
        var recommended = new HashSet<int>();
        for (int u = 0; u < users; u++)
        {
            if (relevant[u].Length == 0)
            {
                continue;
            }

            var top = Enumerable.Range(0, items).Where(i => !seen[u].Contains(i)).OrderByDescending(i => scores[u][i]).ThenBy(i => i).Take(k).ToList();
            recommended.UnionWith(top);
            var hitsAt = top.Select(i => relevant[u].Contains(i)).ToList();
            int hits = hitsAt.Count(h => h);
            p += (double)hits / k;
            r += (double)hits / relevant[u].Length;
            double dcg = hitsAt.Select((h, i) => h ? 1 / Math.Log2(i + 2) : 0).Sum();
            double idcg = Enumerable.Range(0, Math.Min(k, relevant[u].Length)).Sum(i => 1 / Math.Log2(i + 2));
            n += dcg / idcg;
            m += hitsAt.Select((h, i) => h ? (double)hitsAt.Take(i + 1).Count(x => x) / (i + 1) : 0).Sum() / Math.Min(k, relevant[u].Length);
            counted++;
        }

        Assert.Equal(counted, f.Users);
        Assert.Equal(p / counted, f.Precision, 12);
        Assert.Equal(r / counted, f.Recall, 12);
        Assert.Equal(n / counted, f.Ndcg, 12);
        Assert.Equal(m / counted, f.Map, 12);
        Assert.Equal((double)recommended.Count / items, f.Coverage, 12);
    }

    [Fact]
    public void No_user_with_a_relevant_item_gives_no_figures_and_bad_arguments_are_refused()
    {
        var none = RankingMetrics.Evaluate(3, [[]], [[]], 2, (_, _) => { });
        Assert.Equal(0, none.Users);
        Assert.True(double.IsNaN(none.Precision));
        Assert.Throws<ArgumentOutOfRangeException>(() => RankingMetrics.Evaluate(3, [[]], [[1]], 0, (_, _) => { }));
        Assert.Throws<ArgumentException>(() => RankingMetrics.Evaluate(3, [[], []], [[1]], 2, (_, _) => { }));
    }
}
