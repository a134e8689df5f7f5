using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>
/// The two halves of a factorization model's per-sample backward pass, over a pair of rows that fit in registers:
/// <see cref="Dot"/> (effectively <c>Σ u[i] · v[i]</c>) and <see cref="Accumulate(ReadOnlySpan{float}, ReadOnlySpan{float}, float, Span{float}, Span{float})"/> (effectively
/// <c>gu[i] += d · v[i]; gv[i] += d · u[i]</c> in one pass). For rows of 64 floats, <c>TensorPrimitives.Dot</c>
/// and two <c>MultiplyAdd</c> calls spend more on their length checks and size dispatch than on arithmetic and
/// load both rows three times; these kernels load them once per half, FMA in Vector256 registers.
/// NaN and infinities propagate as in the scalar formula (no check here; the server refuses non-finite gradients).
/// </summary>
public static class PairGradient
{
    /// <summary>Effectively computes <c>Σ u[i] · v[i]</c> (float accumulation in four lanes groups, then summed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(ReadOnlySpan<float> u, ReadOnlySpan<float> v)
    {
        if (u.Length != v.Length)
        {
            throw new ArgumentException($"Row lengths {u.Length} and {v.Length} differ.", nameof(v));
        }

        ref float ur = ref MemoryMarshal.GetReference(u);
        ref float vr = ref MemoryMarshal.GetReference(v);
        int n = u.Length, i = 0;
        float s = 0f;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            const int w = 8; // Vector256<float>.Count
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0;
            for (; i <= n - (2 * w); i += 2 * w)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ur, (nuint)i), Vector256.LoadUnsafe(ref vr, (nuint)i), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ur, (nuint)(i + w)), Vector256.LoadUnsafe(ref vr, (nuint)(i + w)), s1);
            }

            if (i <= n - w)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ur, (nuint)i), Vector256.LoadUnsafe(ref vr, (nuint)i), s0);
                i += w;
            }

            s = Vector256.Sum(s0 + s1);
        }

        for (; i < n; i++)
        {
            s += Unsafe.Add(ref ur, i) * Unsafe.Add(ref vr, i);
        }

        return s;
    }

    /// <summary>
    /// Effectively computes <c>gu[i] += d · v[i]</c> and <c>gv[i] += d · u[i]</c> for every i, in one pass (FMA where
    /// vectorized, so a lane may differ from the separately rounded scalar formula in its last bit).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(ReadOnlySpan<float> u, ReadOnlySpan<float> v, float d, Span<float> gu, Span<float> gv) =>
        Accumulate(u, v, d, gu, gv, startU: false, startV: false);

    /// <summary>
    /// <see cref="Accumulate(ReadOnlySpan{float}, ReadOnlySpan{float}, float, Span{float}, Span{float})"/> that starts
    /// a gradient instead of adding to it where asked: effectively <c>gu[i] = (startU ? 0 : gu[i]) + d · v[i]</c> and
    /// <c>gv[i] = (startV ? 0 : gv[i]) + d · u[i]</c>. A batch's first use of a row starts its gradient sum, so the
    /// sums need no clearing pass before the batch; whatever a started gradient held before (even NaN) is ignored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(ReadOnlySpan<float> u, ReadOnlySpan<float> v, float d, Span<float> gu, Span<float> gv, bool startU, bool startV)
    {
        int n = u.Length;
        if (v.Length != n || gu.Length != n || gv.Length != n)
        {
            throw new ArgumentException($"Row lengths differ: u {n}, v {v.Length}, gu {gu.Length}, gv {gv.Length}.");
        }

        ref float ur = ref MemoryMarshal.GetReference(u);
        ref float vr = ref MemoryMarshal.GetReference(v);
        ref float gur = ref MemoryMarshal.GetReference(gu);
        ref float gvr = ref MemoryMarshal.GetReference(gv);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vd = Vector256.Create(d);
            // The old sums pass through an all-ones mask, or become +0 through an all-zeros one (bits, so a NaN left
            // over from another batch is dropped too): no branch in the loop.
            var keepU = startU ? Vector256<float>.Zero : Vector256<float>.AllBitsSet;
            var keepV = startV ? Vector256<float>.Zero : Vector256<float>.AllBitsSet;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var uj = Vector256.LoadUnsafe(ref ur, (nuint)i);
                var vj = Vector256.LoadUnsafe(ref vr, (nuint)i);
                Vector256.FusedMultiplyAdd(vd, vj, Vector256.LoadUnsafe(ref gur, (nuint)i) & keepU).StoreUnsafe(ref gur, (nuint)i);
                Vector256.FusedMultiplyAdd(vd, uj, Vector256.LoadUnsafe(ref gvr, (nuint)i) & keepV).StoreUnsafe(ref gvr, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            float ui = Unsafe.Add(ref ur, i), vi = Unsafe.Add(ref vr, i);
            Unsafe.Add(ref gur, i) = (startU ? 0f : Unsafe.Add(ref gur, i)) + (d * vi);
            Unsafe.Add(ref gvr, i) = (startV ? 0f : Unsafe.Add(ref gvr, i)) + (d * ui);
        }
    }
}
