using ParameterServer.Core.Data;
using ParameterServer.Core.Models;

namespace ParameterServer.Core.Tests;

public class FoldInSolverTests
{
    private static readonly RatingModel Mf = new(RatingModelKind.Mf, 0.5f, 5f, 3.5f);

    private static float[] Uniform(Random rng, int n, double scale) =>
        [.. Enumerable.Range(0, n).Select(_ => (float)(scale * ((2 * rng.NextDouble()) - 1)))];

    [Theory]
    [InlineData(RatingModelKind.Mf, 8, 40, 3.0)]
    [InlineData(RatingModelKind.Mf, 16, 10, 0.5)]
    [InlineData(RatingModelKind.Dot, 8, 40, 2.0)]
    public void Closed_form_equals_an_independent_normal_equations_solve(RatingModelKind kind, int dim, int n, double lambda)
    {
        var rng = new Random(dim * 100 + n);
        var model = Mf with { Kind = kind };
        float[] v = Uniform(rng, n * dim, 0.6), bi = Uniform(rng, n, 0.4);
        float[] r = [.. Enumerable.Range(0, n).Select(_ => (float)(0.5 + (rng.Next(10) * 0.5)))];

        var fit = FoldInSolver.Fit(model, v, bi, r, dim, lambda);

        // Reference: features [v_i; 1] (mf) or v_i (dot), target r − mu − b_i (mf) or r, Gaussian elimination in double.
        bool bias = kind == RatingModelKind.Mf;
        var rows = Enumerable.Range(0, n).Select(i => v.Skip(i * dim).Take(dim).Select(x => (double)x).Concat(bias ? [1.0] : []).ToArray()).ToList();
        var y = Enumerable.Range(0, n).Select(i => bias ? (double)r[i] - model.Mean - bi[i] : r[i]).ToList();
        double[] w = DenseReference.Ridge(rows, y, lambda);
        for (int j = 0; j < dim; j++)
        {
            Assert.Equal(w[j], fit.Vector[j], 1e-5);
        }

        Assert.Equal(bias ? w[dim] : 0, fit.Bias, 1e-5);
        Assert.Equal(lambda, fit.Lambda);
    }

    [Fact]
    public void Noiseless_mf_ratings_give_back_the_planted_user()
    {
        var rng = new Random(3);
        const int dim = 6, n = 30;
        float[] v = Uniform(rng, n * dim, 0.8), bi = Uniform(rng, n, 0.3), u = Uniform(rng, dim, 0.5);
        const float bu = 0.25f;
        var model = new RatingModel(RatingModelKind.Mf, -10f, 10f, 3.5f);
        float[] r = [.. Enumerable.Range(0, n).Select(i => model.Predict(u, v.AsSpan(i * dim, dim), bu, bi[i]))];

        var fit = FoldInSolver.Fit(model, v, bi, r, dim, lambda: 0);

        Assert.Equal(u.Select(x => (double)x), fit.Vector.Select(x => (double)x), (a, b) => Math.Abs(a - b) < 1e-4);
        Assert.Equal(bu, fit.Bias, 1e-4);
        Assert.True(fit.TrainRmse < 1e-4, $"train RMSE {fit.TrainRmse}");
    }

    [Fact]
    public void Dot_bias_reaches_a_stationary_point_of_the_regularized_loss()
    {
        var rng = new Random(5);
        const int dim = 5, n = 60;
        const double lambda = 0.8;
        var model = new RatingModel(RatingModelKind.DotBias, 0.5f, 5f, 3.5f);
        float[] v = Uniform(rng, n * dim, 1.0), bi = Uniform(rng, n, 0.5);
        float[] r = [.. Enumerable.Range(0, n).Select(_ => (float)(0.5 + (rng.Next(10) * 0.5)))];

        var fit = FoldInSolver.Fit(model, v, bi, r, dim, lambda);

        // Gradient of ½ Σ (σ(u·v+b_u+b_i)·R + min − r)² + ½ λ (‖u‖² + b_u²), written out in double.
        double[] Gradient(float[] u, double b)
        {
            var g = new double[dim + 1];
            for (int i = 0; i < n; i++)
            {
                double z = b + bi[i];
                for (int j = 0; j < dim; j++)
                {
                    z += u[j] * (double)v[(i * dim) + j];
                }

                double s = 1 / (1 + Math.Exp(-z));
                double d = ((s * 4.5) + 0.5 - r[i]) * 4.5 * s * (1 - s);
                for (int j = 0; j < dim; j++)
                {
                    g[j] += d * v[(i * dim) + j];
                }

                g[dim] += d;
            }

            for (int j = 0; j < dim; j++)
            {
                g[j] += lambda * u[j];
            }

            g[dim] += lambda * b;
            return g;
        }

        double atZero = Gradient(new float[dim], 0).Max(Math.Abs);
        double atFit = Gradient(fit.Vector, fit.Bias).Max(Math.Abs);
        Assert.True(atZero > 1, $"the start is not stationary: {atZero}");
        Assert.True(atFit < 1e-4 * atZero, $"gradient {atFit} at the fit, {atZero} at zero");
        Assert.InRange(fit.Iterations, 1, FoldInSolver.DefaultSteps);
    }

    [Fact]
    public void Too_few_ratings_without_regularization_is_a_clear_error()
    {
        var rng = new Random(1);
        var e = Assert.Throws<ArgumentException>(() => FoldInSolver.Fit(Mf, Uniform(rng, 3 * 8, 1), Uniform(rng, 3, 1), [4f, 3f, 5f], 8, lambda: 0));
        Assert.Contains("singular", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 0.25)]
    [InlineData(40, 10.0)]
    public void Matching_l2_without_batches_counts_one_step_a_rating(int n, double expected) =>
        Assert.Equal(expected, FoldInSolver.MatchingL2(0.25, n, null), 12);

    [Fact]
    public void Matching_l2_counts_the_batches_that_hold_one_of_the_ratings()
    {
        // One rating is always one step; with one batch an epoch every rating shares it; many batches: about one a rating.
        Assert.Equal(0.25, FoldInSolver.MatchingL2(0.25, 1, 74), 12);
        Assert.Equal(0.25, FoldInSolver.MatchingL2(0.25, 50, 1), 12);
        Assert.Equal(0.25 * 50, FoldInSolver.MatchingL2(0.25, 50, 1e9), 1e-4);

        // Exact expectation for 2 ratings in B batches: 1 + (B − 1)/B distinct batches.
        Assert.Equal(0.25 * (1 + (73.0 / 74)), FoldInSolver.MatchingL2(0.25, 2, 74), 12);
        Assert.InRange(FoldInSolver.MatchingL2(0.25, 200, 74), 0.25 * 65, 0.25 * 74);
    }

    [Fact]
    public void Inline_pairs_parse_in_order()
    {
        var (items, ratings) = RatingPairs.Parse(" 1:4.5, 296:3 ,2571:5");
        Assert.Equal([1L, 296, 2571], items);
        Assert.Equal([4.5f, 3f, 5f], ratings);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("1:4,,3:2", "pair 2 (at character 5) is empty")]
    [InlineData("1:4,2", "pair 2 (\"2\", at character 5) is not movieId:rating")]
    [InlineData("1:4,2:3:1", "pair 2 (\"2:3:1\", at character 5) is not movieId:rating")]
    [InlineData("1:4,x7:3", "pair 2 (\"x7:3\", at character 5): movie id \"x7\" is not a whole number")]
    [InlineData("1:4,7:good", "pair 2 (\"7:good\", at character 5): rating \"good\" is not a finite number")]
    [InlineData("1:NaN", "pair 1 (\"1:NaN\", at character 1): rating \"NaN\" is not a finite number")]
    [InlineData("1:4,", "pair 2 (at character 5) is empty")]
    public void Malformed_pairs_name_their_position(string text, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => RatingPairs.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("--ratings", e.Message, StringComparison.Ordinal);
    }
}
