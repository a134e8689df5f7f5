using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>
/// Conversions between float32 and bfloat16 (the upper 16 bits of a float32: the same sign and 8-bit exponent, 7
/// stored mantissa bits), for a reduced-precision wire. Halving the bytes of values costs a relative rounding error of
/// at most 2^-8 (about 0.4%) per value. The range is float32's: only a value within half a bfloat16 step of float32's
/// largest rounds up to infinity.
/// </summary>
public static class BFloat16
{
    /// <summary>
    /// Rounds each value of <paramref name="source"/> to bfloat16 into <paramref name="destination"/>: effectively
    /// <c>d[i] = (bits(s[i]) + 0x7FFF + ((bits(s[i]) &gt;&gt; 16) &amp; 1)) &gt;&gt; 16</c>, round to nearest, ties to even.
    /// A NaN stays a NaN (quiet, its sign kept: 0x7FC0 or 0xFFC0) rather than rounding into an infinity; infinities
    /// stay infinities; a finite value above bfloat16's largest rounds to infinity, as IEEE rounding does.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="source"/>.</exception>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);

        var bits = MemoryMarshal.Cast<float, uint>(source);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref uint s = ref MemoryMarshal.GetReference(bits);
            ref ushort d = ref MemoryMarshal.GetReference(destination);
            var one = Vector256.Create(1u);
            var bias = Vector256.Create(0x7FFFu);
            var absMask = Vector256.Create(0x7FFFFFFFu);
            var infinity = Vector256.Create(0x7F800000u);
            var quiet = Vector256.Create(0x00400000u);
            for (; i <= bits.Length - 16; i += 16)
            {
                var lo = Round(Vector256.LoadUnsafe(ref s, (nuint)i), one, bias, absMask, infinity, quiet);
                var hi = Round(Vector256.LoadUnsafe(ref s, (nuint)(i + 8)), one, bias, absMask, infinity, quiet);
                Vector256.Narrow(lo, hi).StoreUnsafe(ref d, (nuint)i);
            }
        }

        for (; i < bits.Length; i++)
        {
            destination[i] = FromSingle(bits[i]);
        }
    }

    /// <summary>
    /// Widens each bfloat16 of <paramref name="source"/> to float32 into <paramref name="destination"/>: effectively
    /// <c>bits(d[i]) = s[i] &lt;&lt; 16</c>, exact (every bfloat16, NaN and infinities included, is a float32).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="source"/>.</exception>
    public static void ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);

        var bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort s = ref MemoryMarshal.GetReference(source);
            ref uint d = ref MemoryMarshal.GetReference(bits);
            for (; i <= source.Length - 16; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref s, (nuint)i));
                (lo << 16).StoreUnsafe(ref d, (nuint)i);
                (hi << 16).StoreUnsafe(ref d, (nuint)(i + 8));
            }
        }

        for (; i < source.Length; i++)
        {
            bits[i] = (uint)source[i] << 16;
        }
    }

    /// <summary>One float32's bits rounded to bfloat16 (the scalar form of <see cref="FromSingle(ReadOnlySpan{float}, Span{ushort})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(uint bits) => (bits & 0x7FFFFFFF) > 0x7F800000
        ? (ushort)((bits >> 16) | 0x0040)
        : (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);

    private static void CheckLengths(int source, int destination)
    {
        if (destination < source)
        {
            throw new ArgumentException($"Destination holds {destination} values; {source} are converted.", nameof(destination));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<uint> x, Vector256<uint> one, Vector256<uint> bias, Vector256<uint> absMask, Vector256<uint> infinity, Vector256<uint> quiet)
    {
        var rounded = x + bias + ((x >> 16) & one);
        var nan = Vector256.GreaterThan(x & absMask, infinity);
        return Vector256.ConditionalSelect(nan, x | quiet, rounded) >> 16;
    }
}
