using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>One Adagrad step on one row, with optional L2 weight decay.</summary>
public static class AdagradStep
{
    /// <summary>
    /// Effectively computes, for every i: <c>g' = g[i] + wd * w[i]; h[i] += g'^2; w[i] -= lr * g' / (sqrt(h[i]) + eps)</c>.
    /// NaN in <paramref name="g"/> propagates; callers refuse such pushes first.
    /// </summary>
    public static void Apply(Span<float> w, Span<float> h, ReadOnlySpan<float> g, float lr, float wd, float eps)
    {
        if (g.Length != w.Length || h.Length != w.Length)
        {
            throw new ArgumentException($"Row {w.Length}, state {h.Length} and gradient {g.Length} lengths differ.", nameof(g));
        }

        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float wr = ref MemoryMarshal.GetReference(w);
            ref float hr = ref MemoryMarshal.GetReference(h);
            ref float gr = ref MemoryMarshal.GetReference(g);
            var vlr = Vector256.Create(lr);
            var vwd = Vector256.Create(wd);
            var veps = Vector256.Create(eps);
            for (; i <= w.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var wv = Vector256.LoadUnsafe(ref wr, (nuint)i);
                var gv = Vector256.LoadUnsafe(ref gr, (nuint)i) + (vwd * wv);
                var hv = Vector256.LoadUnsafe(ref hr, (nuint)i) + (gv * gv);
                hv.StoreUnsafe(ref hr, (nuint)i);
                (wv - (vlr * gv / (Vector256.Sqrt(hv) + veps))).StoreUnsafe(ref wr, (nuint)i);
            }
        }

        for (; i < w.Length; i++)
        {
            One(ref w[i], ref h[i], g[i], lr, wd, eps);
        }
    }

    /// <summary>
    /// The step of one value: effectively <c>g' = g + wd * w; h += g'^2; w -= lr * g' / (sqrt(h) + eps)</c> (a row of one
    /// value, such as a bias, skips the row call).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void One(ref float w, ref float h, float g, float lr, float wd, float eps)
    {
        float gi = g + (wd * w);
        h += gi * gi;
        w -= lr * gi / (MathF.Sqrt(h) + eps);
    }
}
