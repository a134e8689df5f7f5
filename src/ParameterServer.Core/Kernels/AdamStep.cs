using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>One (lazy) Adam step on one row, with optional L2 weight decay.</summary>
public static class AdamStep
{
    /// <summary>
    /// Effectively computes, for every i, with <paramref name="t"/> the row's own step number (1-based):
    /// <c>g' = g[i] + wd * w[i]; m[i] = b1 m[i] + (1 - b1) g'; v[i] = b2 v[i] + (1 - b2) g'^2;
    /// w[i] -= lr * (m[i] / (1 - b1^t)) / (sqrt(v[i] / (1 - b2^t)) + eps)</c>.
    /// Lazy: only rows present in a push step, and each row counts its own steps for bias correction.
    /// NaN in <paramref name="g"/> propagates; callers refuse such pushes first.
    /// </summary>
    public static void Apply(Span<float> w, Span<float> m, Span<float> v, ReadOnlySpan<float> g, long t, float lr, float wd, float beta1, float beta2, float eps)
    {
        if (g.Length != w.Length || m.Length != w.Length || v.Length != w.Length)
        {
            throw new ArgumentException($"Row {w.Length}, moments {m.Length}/{v.Length} and gradient {g.Length} lengths differ.", nameof(g));
        }

        if (t < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(t), t, "The Adam step number is 1-based.");
        }

        Corrections(beta1, beta2, t, out float c1, out float c2);
        float ob1 = 1f - beta1;
        float ob2 = 1f - beta2;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float wr = ref MemoryMarshal.GetReference(w);
            ref float mr = ref MemoryMarshal.GetReference(m);
            ref float vr = ref MemoryMarshal.GetReference(v);
            ref float gr = ref MemoryMarshal.GetReference(g);
            var vlr = Vector256.Create(lr);
            var vwd = Vector256.Create(wd);
            var vb1 = Vector256.Create(beta1);
            var vb2 = Vector256.Create(beta2);
            var vob1 = Vector256.Create(ob1);
            var vob2 = Vector256.Create(ob2);
            var vc1 = Vector256.Create(c1);
            var vc2 = Vector256.Create(c2);
            var veps = Vector256.Create(eps);
            for (; i <= w.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var wv = Vector256.LoadUnsafe(ref wr, (nuint)i);
                var gv = Vector256.LoadUnsafe(ref gr, (nuint)i) + (vwd * wv);
                var mv = (vb1 * Vector256.LoadUnsafe(ref mr, (nuint)i)) + (vob1 * gv);
                var vv = (vb2 * Vector256.LoadUnsafe(ref vr, (nuint)i)) + (vob2 * gv * gv);
                mv.StoreUnsafe(ref mr, (nuint)i);
                vv.StoreUnsafe(ref vr, (nuint)i);
                (wv - (vlr * (mv * vc1) / (Vector256.Sqrt(vv * vc2) + veps))).StoreUnsafe(ref wr, (nuint)i);
            }
        }

        for (; i < w.Length; i++)
        {
            float gi = g[i] + (wd * w[i]);
            m[i] = (beta1 * m[i]) + (ob1 * gi);
            v[i] = (beta2 * v[i]) + (ob2 * gi * gi);
            w[i] -= lr * (m[i] * c1) / (MathF.Sqrt(v[i] * c2) + eps);
        }
    }

    /// <summary>
    /// The bias corrections of step <paramref name="t"/>: <c>c1 = 1 / (1 - b1^t)</c> and <c>c2 = 1 / (1 - b2^t)</c>.
    /// With the default betas (0.9, 0.999) the first <see cref="DefaultTableSteps"/> steps come from a table computed
    /// once with the same expression (so bit for bit the same values): two powers per row per push were a tenth of a
    /// small job's push time.
    /// </summary>
    public static void Corrections(float beta1, float beta2, long t, out float c1, out float c2)
    {
        if (beta1 == 0.9f && beta2 == 0.999f && (ulong)(t - 1) < DefaultTableSteps)
        {
            c1 = DefaultTable.C1[t - 1];
            c2 = DefaultTable.C2[t - 1];
            return;
        }

        c1 = 1f / (1f - MathF.Pow(beta1, t));
        c2 = 1f / (1f - MathF.Pow(beta2, t));
    }

    /// <summary>Steps 1..this of the default betas are looked up rather than computed.</summary>
    public const int DefaultTableSteps = 4096;

    private static class DefaultTable
    {
        public static readonly float[] C1 = Build(0.9f);
        public static readonly float[] C2 = Build(0.999f);

        private static float[] Build(float beta)
        {
            var table = new float[DefaultTableSteps];
            for (int t = 1; t <= DefaultTableSteps; t++)
            {
                table[t - 1] = 1f / (1f - MathF.Pow(beta, t));
            }

            return table;
        }
    }
}
