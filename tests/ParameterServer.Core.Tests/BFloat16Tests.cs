using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Tests;

/// <summary>
/// <see cref="BFloat16"/> against a reference that picks the nearer of the two bfloat16s around each value in double
/// arithmetic (ties to the even one), over every exponent, the ties, the specials and lengths around the vector width.
/// </summary>
public class BFloat16Tests
{
    /// <summary>The nearest bfloat16 of <paramref name="x"/> by distance, ties to even; a NaN gives a NaN.</summary>
    private static float Reference(float x)
    {
        if (float.IsNaN(x) || float.IsInfinity(x))
        {
            return x;
        }

        uint bits = BitConverter.SingleToUInt32Bits(x);
        uint down = bits >> 16;
        uint up = down + 1;
        double magnitude = Math.Abs((double)x);
        double below = Math.Abs((double)Widen(down));
        // Above the largest bfloat16 the next step up is 2^128, which rounds to infinity.
        double above = (up & 0x7F80) == 0x7F80 ? Math.Pow(2, 128) : Math.Abs((double)Widen(up));
        double toBelow = magnitude - below, toAbove = above - magnitude;
        uint pick = toBelow < toAbove || (toBelow == toAbove && (down & 1) == 0) ? down : up;
        return Widen(pick);
    }

    private static float Widen(uint half) => BitConverter.UInt32BitsToSingle(half << 16);

    private static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        float[] specials =
        [
            0f, -0f, 1f, -1f, float.MaxValue, -float.MaxValue, float.Epsilon, -float.Epsilon, float.PositiveInfinity,
            float.NegativeInfinity, float.NaN, BitConverter.UInt32BitsToSingle(0x7F800001), BitConverter.UInt32BitsToSingle(0xFF800001),
            BitConverter.UInt32BitsToSingle(0x7F7F8000), BitConverter.UInt32BitsToSingle(0x7F7FFFFF), BitConverter.UInt32BitsToSingle(0x3F808000),
            BitConverter.UInt32BitsToSingle(0x3F818000), BitConverter.UInt32BitsToSingle(0x00018000), BitConverter.UInt32BitsToSingle(0x80007FFF),
        ];
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (i % 5) switch
            {
                0 when i / 5 < specials.Length => specials[i / 5],
                1 => BitConverter.UInt32BitsToSingle(((uint)rng.NextInt64(0, 1L << 32) & 0xFFFF0000u) | 0x8000u), // a tie
                2 => (float)(rng.NextDouble() - 0.5),
                _ => BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)),
            };
        }

        return a;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(100)]
    [InlineData(4099)]
    public void Rounding_matches_the_nearest_bfloat16_ties_to_even(int n)
    {
        var values = Values(n, n);
        var half = new ushort[n];
        BFloat16.FromSingle(values, half);
        var back = new float[n];
        BFloat16.ToSingle(half, back);
        for (int i = 0; i < n; i++)
        {
            float expected = Reference(values[i]);
            if (float.IsNaN(expected))
            {
                Assert.True(float.IsNaN(back[i]), $"value {i} ({BitConverter.SingleToUInt32Bits(values[i]):X8}) is a NaN but came back {back[i]}");
                Assert.Equal(values[i] < 0 || BitConverter.SingleToUInt32Bits(values[i]) >> 31 == 1, BitConverter.SingleToUInt32Bits(back[i]) >> 31 == 1);
            }
            else
            {
                Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(back[i]), $"value {i} ({BitConverter.SingleToUInt32Bits(values[i]):X8}): expected {expected}, got {back[i]}");
            }

            Assert.Equal(BFloat16.FromSingle(BitConverter.SingleToUInt32Bits(values[i])), half[i]);
        }
    }

    [Fact]
    public void Widening_is_exact_for_every_bfloat16()
    {
        var all = Enumerable.Range(0, 1 << 16).Select(i => (ushort)i).ToArray();
        var widened = new float[all.Length];
        BFloat16.ToSingle(all, widened);
        for (int i = 0; i < all.Length; i++)
        {
            Assert.Equal((uint)i << 16, BitConverter.SingleToUInt32Bits(widened[i]));
        }

        // And rounding a widened value gives it back: every bfloat16 that is not a NaN is its own nearest.
        var again = new ushort[all.Length];
        BFloat16.FromSingle(widened, again);
        for (int i = 0; i < all.Length; i++)
        {
            if (!float.IsNaN(widened[i]))
            {
                Assert.Equal(all[i], again[i]);
            }
        }
    }

    [Fact]
    public void The_relative_error_of_a_normal_value_is_at_most_two_to_the_minus_eight()
    {
        var rng = new Random(7);
        var values = Enumerable.Range(0, 10_000).Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-30, 30)))).ToArray();
        var half = new ushort[values.Length];
        var back = new float[values.Length];
        BFloat16.FromSingle(values, half);
        BFloat16.ToSingle(half, back);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(Math.Abs(back[i] - (double)values[i]) <= Math.Abs((double)values[i]) * Math.Pow(2, -8), $"{values[i]} came back {back[i]}");
        }
    }

    [Fact]
    public void A_short_destination_is_refused()
    {
        Assert.Throws<ArgumentException>(() => BFloat16.FromSingle(new float[5], new ushort[4]));
        Assert.Throws<ArgumentException>(() => BFloat16.ToSingle(new ushort[5], new float[4]));
    }
}
