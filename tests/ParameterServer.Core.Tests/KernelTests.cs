using ParameterServer.Core.Kernels;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Core.Tests;

public class KernelTests
{
    private const double Rel = 1e-5;
    private const int Steps = 6;

    private static readonly int[] LengthList = [1, 3, 7, 8, 9, 17, 63, 64, 65, 130];

    public static TheoryData<int> Lengths => new(LengthList);

    private static float[] Normals(Random rng, int n, double scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(scale * Math.Sqrt(-2.0 * Math.Log(1.0 - rng.NextDouble())) * Math.Cos(2.0 * Math.PI * rng.NextDouble()));
        }

        return a;
    }

    private static double[] ToDouble(float[] a) => Array.ConvertAll(a, x => (double)x);

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SgdMatchesScalarReference(int n)
    {
        var rng = new Random(100 + n);
        float[] w = Normals(rng, n, 1);
        double[] rw = ToDouble(w);
        for (int s = 0; s < Steps; s++)
        {
            float[] g = Normals(rng, n, 0.5);
            SgdStep.Apply(w, g, 0.05f, 0.01f);
            ScalarReference.Sgd(rw, g, 0.05f, 0.01f);
            ScalarReference.AssertClose(rw, w, Rel, $"sgd step {s} w");
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdagradMatchesScalarReference(int n)
    {
        var rng = new Random(200 + n);
        float[] w = Normals(rng, n, 1);
        float[] h = new float[n];
        double[] rw = ToDouble(w), rh = new double[n];
        for (int s = 0; s < Steps; s++)
        {
            float[] g = Normals(rng, n, 0.5);
            AdagradStep.Apply(w, h, g, 0.1f, 0.02f, 1e-10f);
            ScalarReference.Adagrad(rw, rh, g, 0.1f, 0.02f, 1e-10f);
            ScalarReference.AssertClose(rw, w, Rel, $"adagrad step {s} w");
            ScalarReference.AssertClose(rh, h, Rel, $"adagrad step {s} h");
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdamMatchesScalarReference(int n)
    {
        var rng = new Random(300 + n);
        float[] w = Normals(rng, n, 1);
        float[] m = new float[n], v = new float[n];
        double[] rw = ToDouble(w), rm = new double[n], rv = new double[n];
        for (int t = 1; t <= Steps; t++)
        {
            float[] g = Normals(rng, n, 0.5);
            AdamStep.Apply(w, m, v, g, t, 0.01f, 0.01f, 0.9f, 0.999f, 1e-8f);
            ScalarReference.Adam(rw, rm, rv, g, t, 0.01f, 0.01f, 0.9f, 0.999f, 1e-8f);
            ScalarReference.AssertClose(rw, w, Rel, $"adam step {t} w");
            ScalarReference.AssertClose(rm, m, Rel, $"adam step {t} m");
            ScalarReference.AssertClose(rv, v, Rel, $"adam step {t} v");
        }
    }

    [Fact]
    public void AdamFirstStepMovesEachValueByAboutLearningRate()
    {
        // With bias correction, step 1 gives m̂/sqrt(v̂) = sign(g'), so |Δw| ≈ lr.
        float[] w = [0.5f, -0.25f, 1f];
        float[] m = new float[3], v = new float[3];
        AdamStep.Apply(w, m, v, [2f, -3f, 0.1f], 1, 0.01f, 0f, 0.9f, 0.999f, 1e-8f);
        Assert.Equal(0.49, w[0], 1e-5);
        Assert.Equal(-0.24, w[1], 1e-5);
        Assert.Equal(0.99, w[2], 1e-5);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adagrad)]
    [InlineData(OptimizerKind.Adam)]
    public void OptimizerSettingsApplyMatchesScalarReference(OptimizerKind kind)
    {
        var settings = new OptimizerSettings(kind, LearningRate: 0.03f, WeightDecay: 0.05f, Epsilon: kind == OptimizerKind.Adagrad ? 1e-10f : 1e-8f);
        foreach (int n in LengthList)
        {
            var rng = new Random(400 + n);
            float[] w = Normals(rng, n, 1);
            float[] state = new float[n * settings.StateSlots];
            double[] rw = ToDouble(w), rstate = new double[state.Length];
            for (long t = 1; t <= Steps; t++)
            {
                float[] g = Normals(rng, n, 0.5);
                settings.Apply(w, state, g, t);
                ScalarReference.Step(settings, rw, rstate, g, t);
                ScalarReference.AssertClose(rw, w, Rel, $"{kind} n={n} t={t} w");
                ScalarReference.AssertClose(rstate, state, Rel, $"{kind} n={n} t={t} state");
            }
        }
    }

    [Fact]
    public void KernelsRejectMismatchedLengths()
    {
        float[] w = new float[9], s = new float[9];
        Assert.Throws<ArgumentException>(() => SgdStep.Apply(w, new float[8], 0.1f, 0f));
        Assert.Throws<ArgumentException>(() => AdagradStep.Apply(w, new float[8], new float[9], 0.1f, 0f, 1e-10f));
        Assert.Throws<ArgumentException>(() => AdamStep.Apply(w, s, new float[9], new float[10], 1, 0.1f, 0f, 0.9f, 0.999f, 1e-8f));
        Assert.Throws<ArgumentOutOfRangeException>(() => AdamStep.Apply(w, s, new float[9], new float[9], 0, 0.1f, 0f, 0.9f, 0.999f, 1e-8f));
    }

    [Theory]
    [InlineData("sgd", OptimizerKind.Sgd)]
    [InlineData(" Adagrad ", OptimizerKind.Adagrad)]
    [InlineData("ADAM", OptimizerKind.Adam)]
    public void ParseOptimizerKind(string name, OptimizerKind expected) => Assert.Equal(expected, OptimizerSettings.ParseKind(name));

    [Fact]
    public void ParseUnknownOptimizerListsValidNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => OptimizerSettings.ParseKind("rmsprop"));
        Assert.Contains("sgd, adagrad, adam", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateRejectsOutOfRangeSettings()
    {
        new OptimizerSettings().Validate();
        Assert.Throws<ArgumentException>(() => new OptimizerSettings(LearningRate: 0f).Validate());
        Assert.Throws<ArgumentException>(() => new OptimizerSettings(LearningRate: 11f).Validate());
        Assert.Throws<ArgumentException>(() => new OptimizerSettings(WeightDecay: -1f).Validate());
        Assert.Throws<ArgumentException>(() => new OptimizerSettings(Beta1: 1f).Validate());
        Assert.Throws<ArgumentException>(() => new OptimizerSettings(Epsilon: 0f).Validate());
        Assert.Throws<ArgumentException>(() => new OptimizerSettings(LearningRate: float.NaN).Validate());
        Assert.Throws<ArgumentException>(() => new OptimizerSettings((OptimizerKind)7).Validate());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(100)]
    [InlineData(64)]
    [InlineData(129)]
    [InlineData(300)]
    public void FiniteCheckFindsEveryNonFiniteAtEveryPosition(int n)
    {
        var rng = new Random(n);
        float[] a = Normals(rng, n, 1e30);
        Assert.Equal(-1, FiniteCheck.IndexOfNonFinite(a));
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            for (int p = 0; p < n; p++)
            {
                float keep = a[p];
                a[p] = bad;
                Assert.Equal(p, FiniteCheck.IndexOfNonFinite(a));

                // A second bad value later does not change the answer.
                if (p + 1 < n)
                {
                    float next = a[n - 1];
                    a[n - 1] = float.NaN;
                    Assert.Equal(p, FiniteCheck.IndexOfNonFinite(a));
                    a[n - 1] = next;
                }

                a[p] = keep;
            }
        }

        Assert.Equal(-1, FiniteCheck.IndexOfNonFinite(a));
    }

    [Fact]
    public void FiniteCheckAcceptsExtremeFiniteValues()
    {
        float[] a = [float.MaxValue, float.MinValue, float.Epsilon, -0f, 0f, 1e-45f, -3.4e38f, 3.4e38f, float.MaxValue, 1f];
        Assert.Equal(-1, FiniteCheck.IndexOfNonFinite(a));
    }

    [Theory]
    [InlineData(0.9f, 0.999f)]
    [InlineData(0.8f, 0.99f)]
    public void AdamCorrectionsAreTheFormulaBitForBitWhetherLookedUpOrComputed(float beta1, float beta2)
    {
        for (long t = 1; t <= AdamStep.DefaultTableSteps + 10; t++)
        {
            AdamStep.Corrections(beta1, beta2, t, out float c1, out float c2);
            Assert.Equal(1f / (1f - MathF.Pow(beta1, t)), c1);
            Assert.Equal(1f / (1f - MathF.Pow(beta2, t)), c2);
        }
    }
}
