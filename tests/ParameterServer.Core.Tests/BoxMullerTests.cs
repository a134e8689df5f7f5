using ParameterServer.Core.Kernels;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Tests;

/// <summary>
/// The float32 Box-Muller kernel against the double-precision formula (<c>Math.Log</c>, <c>Math.Cos</c>,
/// <c>Math.Sin</c>), against a scalar float32 rendering of its own operations (bit for bit: what makes a row start the
/// same on every machine), and the rows it fills: deterministic, every length, normal in distribution.
/// </summary>
public class BoxMullerTests
{
    private static (float[] U1, float[] U2) Uniforms(int n, int seed)
    {
        var rng = new Random(seed);
        var u1 = new float[n];
        var u2 = new float[n];
        float[] edges1 = [1f / (1 << 24), 2f / (1 << 24), 1e-3f, 0.5f, 0.70710677f, 0.70710683f, 0.999f, 1f - (1f / (1 << 24)), 1f];
        float[] edges2 = [0f, 0.125f, 0.25f, 0.375f, 0.5f, 0.625f, 0.75f, 0.875f, 1f - (1f / (1 << 24)), 0.1249999f, 0.3750001f];
        for (int i = 0; i < n; i++)
        {
            u1[i] = i < edges1.Length ? edges1[i] : (rng.Next(1 << 24) + 1) * (1f / (1 << 24));
            u2[i] = i < edges2.Length ? edges2[i] : rng.Next(1 << 24) * (1f / (1 << 24));
        }

        return (u1, u2);
    }

    [Fact]
    public void MatchesTheDoublePrecisionFormula()
    {
        const int n = 4096;
        const float scale = 0.1f;
        var (u1, u2) = Uniforms(n, 5);
        var cos = new float[n];
        var sin = new float[n];
        BoxMuller.Transform(u1, u2, scale, cos, sin);
        for (int i = 0; i < n; i++)
        {
            double r = scale * Math.Sqrt(-2.0 * Math.Log(u1[i]));
            double c = r * Math.Cos(2.0 * Math.PI * u2[i]), s = r * Math.Sin(2.0 * Math.PI * u2[i]);
            double tol = (3e-6 * r) + 1e-9;
            Assert.True(Math.Abs(cos[i] - c) <= tol, $"cos at u1 {u1[i]}, u2 {u2[i]}: {cos[i]} vs {c}");
            Assert.True(Math.Abs(sin[i] - s) <= tol, $"sin at u1 {u1[i]}, u2 {u2[i]}: {sin[i]} vs {s}");
        }
    }

    [Fact]
    public void EqualsItsScalarOperationsBitForBit()
    {
        const int n = 2048;
        var (u1, u2) = Uniforms(n, 6);
        var cos = new float[n];
        var sin = new float[n];
        BoxMuller.Transform(u1, u2, 0.37f, cos, sin);
        for (int i = 0; i < n; i++)
        {
            var (c, s) = Scalar(u1[i], u2[i], 0.37f);
            Assert.Equal(BitConverter.SingleToInt32Bits(c), BitConverter.SingleToInt32Bits(cos[i]));
            Assert.Equal(BitConverter.SingleToInt32Bits(s), BitConverter.SingleToInt32Bits(sin[i]));
        }
    }

    [Fact]
    public void RefusesLengthsOffTheVectorWidth()
    {
        var a = new float[BoxMuller.Width + 1];
        Assert.Throws<ArgumentException>(() => BoxMuller.Transform(a, a, 1f, a, a));
        Assert.Throws<ArgumentException>(() => BoxMuller.Transform(a.AsSpan(1), a, 1f, a, a));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(300)]
    public void RowsAreDeterministicAndAShorterRowIsAPrefix(int dim)
    {
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, 42);
        var a = new float[dim];
        var b = new float[dim];
        var longer = new float[dim + 1];
        var other = new float[dim];
        init.Fill(7, a);
        init.Fill(7, b);
        init.Fill(7, longer);
        init.Fill(8, other);
        Assert.Equal(a, b);
        Assert.Equal(a, longer[..dim]);
        Assert.All(a, x => Assert.True(float.IsFinite(x) && Math.Abs(x) < 0.6f, $"value {x}"));
        Assert.NotEqual(a, other);
        Assert.NotEqual(a, new float[dim]);
    }

    [Fact]
    public void RowsAreNormalWithTheirScale()
    {
        const float scale = 0.1f;
        const int rows = 4000, dim = 64;
        var init = new RowInitializer(InitializerKind.Normal, scale, 3);
        var row = new float[dim];
        double sum = 0, squares = 0, fourth = 0;
        long withinOne = 0, n = (long)rows * dim;
        for (int id = 0; id < rows; id++)
        {
            init.Fill(id, row);
            foreach (var x in row)
            {
                double z = x / scale;
                sum += z;
                squares += z * z;
                fourth += z * z * z * z;
                withinOne += Math.Abs(z) <= 1 ? 1 : 0;
            }
        }

        double mean = sum / n, variance = (squares / n) - (mean * mean);
        Assert.InRange(mean, -0.02, 0.02); // 5 standard errors of 256,000 draws
        Assert.InRange(variance, 0.98, 1.02);
        Assert.InRange(fourth / n, 2.9, 3.1); // a normal's kurtosis
        Assert.InRange((double)withinOne / n, 0.6827 - 0.005, 0.6827 + 0.005);
    }

    /// <summary>The kernel's operations one lane at a time, in the same order, in scalar float32.</summary>
    private static (float Cos, float Sin) Scalar(float u1, float u2, float scale)
    {
        int bits = BitConverter.SingleToInt32Bits(u1);
        int e = (bits >>> 23) - 127;
        float m = BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F800000);
        if (m > 1.41421356f)
        {
            m *= 0.5f;
            e++;
        }

        float fe = e, f = m - 1f, z = f * f;
        float p = 7.0376836292e-2f;
        foreach (var k in (float[])[-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f])
        {
            p = (p * f) + k;
        }

        float y = (f * z * p) + (fe * -2.12194440e-4f) - (0.5f * z);
        float log = f + y + (fe * 0.693359375f);
        float r = MathF.Sqrt(-2f * log) * scale;

        float quarters = u2 * 4f, q = MathF.Round(quarters, MidpointRounding.ToEven);
        float a = (quarters - q) * 1.57079632679f, a2 = a * a;
        float sy = a + (a * a2 * ((((-1.9515295891e-4f * a2) + 8.3321608736e-3f) * a2) + -1.6666654611e-1f));
        float cy = 1f - (0.5f * a2) + (a2 * a2 * ((((2.443315711809948e-5f * a2) + -1.388731625493765e-3f) * a2) + 4.166664568298827e-2f));
        (float c, float s) = ((int)q & 3) switch
        {
            0 => (cy, sy),
            1 => (-sy, cy),
            2 => (-cy, -sy),
            _ => (sy, -cy),
        };
        return (r * c, r * s);
    }
}
