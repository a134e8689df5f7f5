using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Tests;

/// <summary><see cref="PairGradient"/> against the formula in doubles, at lengths on and off the vector width.</summary>
public class PairGradientTests
{
    public static TheoryData<int> Lengths => new([1, 3, 7, 8, 9, 15, 16, 17, 24, 63, 64, 65, 130]);

    private static float[] Uniform(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return a;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void DotMatchesTheSumOfProducts(int n)
    {
        var rng = new Random(n);
        float[] u = Uniform(rng, n), v = Uniform(rng, n);
        double expected = 0;
        for (int i = 0; i < n; i++)
        {
            expected += (double)u[i] * v[i];
        }

        Assert.Equal(expected, PairGradient.Dot(u, v), 1e-5 * n);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AccumulateAddsEachRowScaledIntoTheOthersGradient(int n)
    {
        var rng = new Random(1000 + n);
        float[] u = Uniform(rng, n), v = Uniform(rng, n), gu = Uniform(rng, n), gv = Uniform(rng, n);
        double[] eu = Array.ConvertAll(gu, x => (double)x), ev = Array.ConvertAll(gv, x => (double)x);
        const float d = -0.37f;
        for (int i = 0; i < n; i++)
        {
            eu[i] += d * (double)v[i];
            ev[i] += d * (double)u[i];
        }

        PairGradient.Accumulate(u, v, d, gu, gv);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(eu[i], gu[i], 1e-6);
            Assert.Equal(ev[i], gv[i], 1e-6);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AStartedGradientIgnoresWhatItHeld(int n)
    {
        var rng = new Random(2000 + n);
        float[] u = Uniform(rng, n), v = Uniform(rng, n), old = Uniform(rng, n);
        const float d = 0.61f;
        foreach (var (startU, startV) in new[] { (true, true), (true, false), (false, true), (false, false) })
        {
            // Started sums held NaN (another batch's leftovers): they must not leak into the result.
            float[] gu = startU ? Enumerable.Repeat(float.NaN, n).ToArray() : (float[])old.Clone();
            float[] gv = startV ? Enumerable.Repeat(float.NaN, n).ToArray() : (float[])old.Clone();
            PairGradient.Accumulate(u, v, d, gu, gv, startU, startV);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal((startU ? 0 : (double)old[i]) + (d * (double)v[i]), gu[i], 1e-6);
                Assert.Equal((startV ? 0 : (double)old[i]) + (d * (double)u[i]), gv[i], 1e-6);
            }
        }
    }

    [Fact]
    public void NonFiniteValuesPropagate()
    {
        float[] u = new float[64], v = new float[64], gu = new float[64], gv = new float[64];
        u[40] = float.NaN;
        v[3] = float.PositiveInfinity;
        Assert.True(float.IsNaN(PairGradient.Dot(u, v)));
        PairGradient.Accumulate(u, v, 1f, gu, gv);
        Assert.Equal(float.PositiveInfinity, gu[3]);
        Assert.True(float.IsNaN(gv[40]));
    }

    [Fact]
    public void MismatchedLengthsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => PairGradient.Dot(new float[8], new float[9]));
        Assert.Throws<ArgumentException>(() => PairGradient.Accumulate(new float[8], new float[8], 1f, new float[8], new float[7]));
    }
}
