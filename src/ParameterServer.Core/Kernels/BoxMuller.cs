using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>
/// The Box-Muller transform of uniform pairs into normal pairs, eight pairs at a time, in float32 with polynomial
/// logarithm, sine and cosine (Cephes' minimax coefficients, relative error about 1e-7).
/// </summary>
/// <remarks>
/// New rows are filled with it (<see cref="Storage.RowInitializer"/>): a table of 100k x 64 rows created on first use
/// spent about 5 % of a training epoch in the scalar double-precision <c>Math.Log</c>, <c>Math.Cos</c> and
/// <c>Math.Sin</c> per pair. Only additions, multiplications, square roots, rounding and bit operations are used
/// (no fused multiply-add, which the JIT never forms on its own), each exactly rounded by IEEE 754, so every machine,
/// vector width or software fallback gives bit-identical values: a row starts the same on any silo.
/// </remarks>
public static class BoxMuller
{
    /// <summary>Pairs per call of the vector loop: lengths given to <see cref="Transform"/> are multiples of it.</summary>
    public static int Width => Vector256<float>.Count;

    /// <summary>
    /// Effectively computes <c>r = scale * sqrt(-2 ln u1[i])</c>, <c>cos[i] = r * cos(2 pi u2[i])</c> and
    /// <c>sin[i] = r * sin(2 pi u2[i])</c> for every i.
    /// </summary>
    /// <param name="u1">Uniforms in (0, 1]; 0 gives infinity, a value above 1 NaN.</param>
    /// <param name="u2">Uniforms in [0, 1).</param>
    /// <param name="scale">Standard deviation of the normals.</param>
    /// <param name="cos">First normal of each pair.</param>
    /// <param name="sin">Second normal of each pair.</param>
    /// <exception cref="ArgumentException">Lengths differ or are not a multiple of <see cref="Width"/>.</exception>
    public static void Transform(ReadOnlySpan<float> u1, ReadOnlySpan<float> u2, float scale, Span<float> cos, Span<float> sin)
    {
        int n = u1.Length;
        if (u2.Length != n || cos.Length < n || sin.Length < n || n % Width != 0)
        {
            throw new ArgumentException($"Box-Muller needs equal lengths that are a multiple of {Width}: u1 {u1.Length}, u2 {u2.Length}, outputs {cos.Length} and {sin.Length}.");
        }

        ref float a = ref MemoryMarshal.GetReference(u1);
        ref float b = ref MemoryMarshal.GetReference(u2);
        ref float c = ref MemoryMarshal.GetReference(cos);
        ref float s = ref MemoryMarshal.GetReference(sin);
        var vscale = Vector256.Create(scale);
        for (int i = 0; i < n; i += Width)
        {
            var r = Vector256.Sqrt(Vector256.Create(-2f) * Log(Vector256.LoadUnsafe(ref a, (nuint)i))) * vscale;
            var (cv, sv) = SinCosTurn(Vector256.LoadUnsafe(ref b, (nuint)i));
            (r * cv).StoreUnsafe(ref c, (nuint)i);
            (r * sv).StoreUnsafe(ref s, (nuint)i);
        }
    }

    /// <summary>Natural logarithm of positive normal floats (Cephes <c>logf</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Log(Vector256<float> x)
    {
        var bits = x.AsInt32();
        var e = (bits >>> 23) - Vector256.Create(127);
        var m = (bits & Vector256.Create(0x007FFFFF) | Vector256.Create(0x3F800000)).AsSingle(); // [1, 2)
        var big = Vector256.GreaterThan(m, Vector256.Create(1.41421356f));
        m = Vector256.ConditionalSelect(big, m * Vector256.Create(0.5f), m); // [sqrt(1/2), sqrt(2))
        var fe = Vector256.ConvertToSingle(e - big.AsInt32()); // a true lane is -1: one more in the exponent
        var f = m - Vector256<float>.One;
        var z = f * f;
        var p = Vector256.Create(7.0376836292e-2f);
        p = (p * f) + Vector256.Create(-1.1514610310e-1f);
        p = (p * f) + Vector256.Create(1.1676998740e-1f);
        p = (p * f) + Vector256.Create(-1.2420140846e-1f);
        p = (p * f) + Vector256.Create(1.4249322787e-1f);
        p = (p * f) + Vector256.Create(-1.6668057665e-1f);
        p = (p * f) + Vector256.Create(2.0000714765e-1f);
        p = (p * f) + Vector256.Create(-2.4999993993e-1f);
        p = (p * f) + Vector256.Create(3.3333331174e-1f);
        var y = (f * z * p) + (fe * Vector256.Create(-2.12194440e-4f)) - (Vector256.Create(0.5f) * z);
        return f + y + (fe * Vector256.Create(0.693359375f));
    }

    /// <summary>Cosine and sine of <c>2 pi t</c> for t in [0, 1): quarter turns exactly, the rest by polynomials on [-pi/4, pi/4].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Cos, Vector256<float> Sin) SinCosTurn(Vector256<float> t)
    {
        var quarters = t * Vector256.Create(4f);
        var q = Vector256.Round(quarters);
        var y = (quarters - q) * Vector256.Create(1.57079632679f); // [-pi/4, pi/4]
        var z = y * y;
        var sp = (((Vector256.Create(-1.9515295891e-4f) * z) + Vector256.Create(8.3321608736e-3f)) * z) + Vector256.Create(-1.6666654611e-1f);
        var sy = y + (y * z * sp);
        var cp = (((Vector256.Create(2.443315711809948e-5f) * z) + Vector256.Create(-1.388731625493765e-3f)) * z) + Vector256.Create(4.166664568298827e-2f);
        var cy = Vector256<float>.One - (Vector256.Create(0.5f) * z) + (z * z * cp);

        // Quarter k turns (cos, sin) of y into: 0 (c, s), 1 (-s, c), 2 (-c, -s), 3 (s, -c).
        var k = Vector256.ConvertToInt32(q) & Vector256.Create(3);
        var odd = Vector256.Equals(k & Vector256<int>.One, Vector256<int>.One).AsSingle();
        var cosBase = Vector256.ConditionalSelect(odd, sy, cy);
        var sinBase = Vector256.ConditionalSelect(odd, cy, sy);
        var cosSign = ((k + Vector256<int>.One) & Vector256.Create(2)) << 30; // k = 1, 2
        var sinSign = (k & Vector256.Create(2)) << 30; // k = 2, 3
        return ((cosBase.AsInt32() ^ cosSign).AsSingle(), (sinBase.AsInt32() ^ sinSign).AsSingle());
    }
}
