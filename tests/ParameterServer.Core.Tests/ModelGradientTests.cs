using ParameterServer.Core.Models;

namespace ParameterServer.Core.Tests;

public class ModelGradientTests
{
    // Central differences in double of the float Predict; 5e-3 keeps float rounding well below the tolerance.
    private const double Step = 5e-3;

    public static TheoryData<RatingModelKind, int> Cases()
    {
        var data = new TheoryData<RatingModelKind, int>();
        foreach (var kind in new[] { RatingModelKind.Dot, RatingModelKind.DotBias, RatingModelKind.Mf })
        {
            foreach (int dim in new[] { 1, 5, 16, 64 })
            {
                data.Add(kind, dim);
            }
        }

        return data;
    }

    private static RatingModel Model(RatingModelKind kind) => new(kind, 0.5f, 5f, 3.5f);

    private static float[] RandomVector(Random rng, int n, double scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(scale * ((2 * rng.NextDouble()) - 1));
        }

        return a;
    }

    private static double Loss(RatingModel m, float[] u, float[] v, float bu, float bi, float y)
    {
        double e = (double)m.Predict(u, v, bu, bi) - y;
        return e * e;
    }

    private static void AssertGrad(double numeric, double analytic, string what)
    {
        double tol = Math.Max(1e-3, 2e-2 * Math.Abs(numeric));
        Assert.True(Math.Abs(numeric - analytic) <= tol, $"{what}: finite difference {numeric:R}, backward {analytic:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardMatchesFiniteDifferences(RatingModelKind kind, int dim)
    {
        var model = Model(kind);
        var rng = new Random((int)kind * 1000 + dim);
        double scale = 1.5 / Math.Sqrt(dim);
        for (int sample = 0; sample < 5; sample++)
        {
            float[] u = RandomVector(rng, dim, scale), v = RandomVector(rng, dim, scale);
            float[] bias = [(float)(rng.NextDouble() - 0.5), (float)(rng.NextDouble() - 0.5)];
            float y = (float)(0.5 + (4.5 * rng.NextDouble()));
            float[] gu = new float[dim], gv = new float[dim];
            float gbu = 0, gbi = 0;
            float sq = model.Backward(u, v, bias[0], bias[1], y, 1f, gu, gv, ref gbu, ref gbi);

            float pred = model.Predict(u, v, bias[0], bias[1]);
            float expectedSq = (pred - y) * (pred - y);
            Assert.True(Math.Abs(sq - expectedSq) <= 1e-6 * Math.Max(1, expectedSq), $"squared error {sq} vs {expectedSq}");

            double L() => Loss(model, u, v, bias[0], bias[1], y);
            for (int i = 0; i < dim; i++)
            {
                AssertGrad(FiniteDifference.Central(u, i, L, Step), gu[i], $"{kind} dim {dim} gu[{i}]");
                AssertGrad(FiniteDifference.Central(v, i, L, Step), gv[i], $"{kind} dim {dim} gv[{i}]");
            }

            AssertGrad(FiniteDifference.Central(bias, 0, L, Step), gbu, $"{kind} dim {dim} gbu");
            AssertGrad(FiniteDifference.Central(bias, 1, L, Step), gbi, $"{kind} dim {dim} gbi");
        }
    }

    [Fact]
    public void DotModelLeavesBiasGradientsUntouched()
    {
        var model = Model(RatingModelKind.Dot);
        Assert.False(model.HasBiases);
        float gbu = 0.25f, gbi = -0.75f;
        model.Backward([1f, 2f], [3f, -1f], 0.4f, 0.6f, 4f, 1f, new float[2], new float[2], ref gbu, ref gbi);
        Assert.Equal(0.25f, gbu);
        Assert.Equal(-0.75f, gbi);
        Assert.Equal(1f, model.Predict([1f, 2f], [3f, -1f], 100f, 100f));
        Assert.True(Model(RatingModelKind.Mf).HasBiases);
        Assert.True(Model(RatingModelKind.DotBias).HasBiases);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsAccumulateIntoTheGivenSpans(RatingModelKind kind, int dim)
    {
        var model = Model(kind);
        var rng = new Random(77 + dim);
        float[] u = RandomVector(rng, dim, 1), v = RandomVector(rng, dim, 1);
        float[] gu1 = new float[dim], gv1 = new float[dim];
        float gbu1 = 0, gbi1 = 0;
        model.Backward(u, v, 0.1f, -0.2f, 3f, 1f, gu1, gv1, ref gbu1, ref gbi1);

        float[] gu2 = new float[dim], gv2 = new float[dim];
        float gbu2 = 0, gbi2 = 0;
        model.Backward(u, v, 0.1f, -0.2f, 3f, 1f, gu2, gv2, ref gbu2, ref gbi2);
        model.Backward(u, v, 0.1f, -0.2f, 3f, 1f, gu2, gv2, ref gbu2, ref gbi2);

        // scale multiplies the gradient.
        float[] gu3 = new float[dim], gv3 = new float[dim];
        float gbu3 = 0, gbi3 = 0;
        model.Backward(u, v, 0.1f, -0.2f, 3f, 0.5f, gu3, gv3, ref gbu3, ref gbi3);
        for (int i = 0; i < dim; i++)
        {
            Assert.Equal(2.0 * gu1[i], gu2[i], 1e-5 * Math.Max(1, Math.Abs(gu1[i])));
            Assert.Equal(2.0 * gv1[i], gv2[i], 1e-5 * Math.Max(1, Math.Abs(gv1[i])));
            Assert.Equal(0.5 * gu1[i], gu3[i], 1e-6 * Math.Max(1, Math.Abs(gu1[i])));
            Assert.Equal(0.5 * gv1[i], gv3[i], 1e-6 * Math.Max(1, Math.Abs(gv1[i])));
        }

        Assert.Equal(2.0 * gbu1, gbu2, 1e-5 * Math.Max(1, Math.Abs(gbu1)));
        Assert.Equal(2.0 * gbi1, gbi2, 1e-5 * Math.Max(1, Math.Abs(gbi1)));
        Assert.Equal(0.5 * gbu1, gbu3, 1e-6 * Math.Max(1, Math.Abs(gbu1)));
        if (kind != RatingModelKind.Dot)
        {
            Assert.NotEqual(0f, gbu1);
            Assert.Equal(gbu1, gbi1);
        }
    }

    [Fact]
    public void DotBiasPredictionStaysInRange()
    {
        var model = Model(RatingModelKind.DotBias);
        Assert.InRange(model.Predict([100f], [100f], 0, 0), 0.5f, 5f);
        Assert.InRange(model.Predict([100f], [-100f], 0, 0), 0.5f, 5f);
        Assert.Equal(2.75f, model.Predict([0f], [0f], 0, 0), 1e-5);
        Assert.Equal(3.5f + 0.25f - 0.5f + 6f, Model(RatingModelKind.Mf).Predict([2f, 1f], [2f, 2f], 0.25f, -0.5f), 1e-5);
    }

    [Theory]
    [InlineData("dot", RatingModelKind.Dot)]
    [InlineData("Dot-Bias", RatingModelKind.DotBias)]
    [InlineData("dotbias", RatingModelKind.DotBias)]
    [InlineData(" mf ", RatingModelKind.Mf)]
    public void ParseKnownKinds(string name, RatingModelKind expected)
    {
        Assert.Equal(expected, RatingModel.ParseKind(name));
        Assert.Equal(expected, RatingModel.ParseKind(RatingModel.NameOf(expected)));
    }

    [Theory]
    [InlineData("svd")]
    [InlineData("")]
    public void ParseUnknownKindListsValidNames(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => RatingModel.ParseKind(name));
        Assert.Contains("dot, dot-bias, mf", ex.Message, StringComparison.Ordinal);
    }
}
