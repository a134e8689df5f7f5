using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>One plain SGD step on one row, with optional L2 weight decay.</summary>
public static class SgdStep
{
    /// <summary>
    /// Effectively computes <c>w[i] -= lr * (g[i] + wd * w[i])</c> for every i.
    /// NaN in <paramref name="g"/> propagates into <paramref name="w"/>; callers refuse such pushes first.
    /// </summary>
    public static void Apply(Span<float> w, ReadOnlySpan<float> g, float lr, float wd)
    {
        if (g.Length != w.Length)
        {
            throw new ArgumentException($"Gradient length {g.Length} does not match row length {w.Length}.", nameof(g));
        }

        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float wr = ref MemoryMarshal.GetReference(w);
            ref float gr = ref MemoryMarshal.GetReference(g);
            var vlr = Vector256.Create(lr);
            var vwd = Vector256.Create(wd);
            for (; i <= w.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var wv = Vector256.LoadUnsafe(ref wr, (nuint)i);
                var gv = Vector256.LoadUnsafe(ref gr, (nuint)i) + (vwd * wv);
                (wv - (vlr * gv)).StoreUnsafe(ref wr, (nuint)i);
            }
        }

        for (; i < w.Length; i++)
        {
            One(ref w[i], g[i], lr, wd);
        }
    }

    /// <summary>The step of one value: effectively <c>w -= lr * (g + wd * w)</c> (a row of one value, such as a bias, skips the row call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void One(ref float w, float g, float lr, float wd) => w -= lr * (g + (wd * w));
}
