using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Core.Tests;

/// <summary>The BPR loss against finite differences of a double reference, and the implicit negative sampler.</summary>
public class BprTests
{
    private const double Step = 1e-3;

    // −ln σ(x) with x = u·(pos − neg) + bPos − bNeg, in double.
    private static double Reference(float[] u, float[] pos, float[] neg, float[] b)
    {
        double x = b[0] - (double)b[1];
        for (int j = 0; j < u.Length; j++)
        {
            x += u[j] * ((double)pos[j] - neg[j]);
        }

        return Math.Log(1 + Math.Exp(-x));
    }

    private static void Near(double numeric, double analytic, string what) =>
        Assert.True(Math.Abs(numeric - analytic) <= Math.Max(1e-3, 2e-2 * Math.Abs(numeric)), $"{what}: finite difference {numeric:R}, backward {analytic:R}");

    [Theory]
    [InlineData(1, 0.1)]
    [InlineData(8, 0.5)]
    [InlineData(64, 0.3)]
    [InlineData(13, 3.0)]
    public void Backward_matches_finite_differences_and_the_loss_matches_the_formula(int dim, double spread)
    {
        var rng = new Random(dim);
        float[] Vec() => [.. Enumerable.Range(0, dim).Select(_ => (float)((rng.NextDouble() - 0.5) * 2 * spread))];
        for (int sample = 0; sample < 5; sample++)
        {
            float[] u = Vec(), pos = Vec(), neg = Vec();
            float[] b = [(float)(rng.NextDouble() - 0.5), (float)(rng.NextDouble() - 0.5)];
            float[] gu = new float[dim], gp = new float[dim], gn = new float[dim];
            float gbp = 0, gbn = 0;
            float loss = BprLoss.Backward(u, pos, neg, b[0], b[1], 1f, gu, gp, gn, ref gbp, ref gbn);
            double expected = Reference(u, pos, neg, b);
            Assert.True(Math.Abs(loss - expected) <= 1e-5 * Math.Max(1, expected), $"loss {loss} vs {expected}");
            double L() => Reference(u, pos, neg, b);
            for (int j = 0; j < dim; j++)
            {
                Near(FiniteDifference.Central(u, j, L, Step), gu[j], $"gu[{j}]");
                Near(FiniteDifference.Central(pos, j, L, Step), gp[j], $"gpos[{j}]");
                Near(FiniteDifference.Central(neg, j, L, Step), gn[j], $"gneg[{j}]");
            }

            Near(FiniteDifference.Central(b, 0, L, Step), gbp, "gb_pos");
            Near(FiniteDifference.Central(b, 1, L, Step), gbn, "gb_neg");
        }
    }

    [Fact]
    public void Extreme_scores_give_finite_losses_and_gradients_scale()
    {
        float[] gu = new float[1], gp = new float[1], gn = new float[1];
        float gbp = 0, gbn = 0;
        Assert.Equal(0f, BprLoss.Backward([100f], [100f], [-100f], 0, 0, 1f, gu, gp, gn, ref gbp, ref gbn), 1e-3);
        Assert.Equal(20000f, BprLoss.Backward([100f], [-100f], [100f], 0, 0, 1f, gu, gp, gn, ref gbp, ref gbn), 1.0);
        float[] a = new float[1], c = new float[1];
        float x = 0, y = 0, p = 0, q = 0;
        BprLoss.Backward([0.3f], [0.2f], [0.1f], 0.1f, 0, 1f, a, new float[1], new float[1], ref x, ref y);
        BprLoss.Backward([0.3f], [0.2f], [0.1f], 0.1f, 0, 2.5f, c, new float[1], new float[1], ref p, ref q);
        Assert.Equal(a[0] * 2.5f, c[0], 1e-6);
        Assert.Equal(x * 2.5f, p, 1e-6);
    }

    [Fact]
    public void The_sampler_never_draws_an_item_of_the_user_while_others_exist_and_covers_the_rest()
    {
        // User 1 has items 10 and 11 of {10, 11, 12, 13}; user 2 has 12.
        var positives = new Ratings([1, 1, 2], [10, 11, 12], [5, 5, 5]);
        var sampler = new ItemNegativeSampler(positives);
        Assert.Equal([10L, 11, 12], sampler.Items);
        Assert.True(sampler.IsPositive(1, 11));
        Assert.False(sampler.IsPositive(2, 11));
        Assert.False(sampler.IsPositive(3, 10));
        var rng = new Random(1);
        var drawn = Enumerable.Range(0, 2000).Select(_ => sampler.Draw(1, rng)).ToList();
        Assert.All(drawn, item => Assert.Equal(12L, item));
        var forTwo = Enumerable.Range(0, 3000).Select(_ => sampler.Draw(2, rng)).GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([10L, 11], forTwo.Keys.Order());
        Assert.InRange(forTwo[10], 1300, 1700); // uniform over the two it may get
        Assert.Throws<ArgumentException>(() => new ItemNegativeSampler(new Ratings([], [], [])));
    }
}
