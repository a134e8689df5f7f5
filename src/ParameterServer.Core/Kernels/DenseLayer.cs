using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>
/// The two passes of a dense layer over one sample, for weights stored input-major (row j of <c>w</c> holds the
/// weights from input j to every output, <c>fo</c> values): Vector256 kernels that keep a block of outputs in
/// registers across the rows (forward) or stream each row once for both of its gradients (backward).
/// </summary>
public static class DenseLayer
{
    /// <summary>
    /// Effectively computes <c>h[c] += Σ_j x[j] · w[j·fo + c]</c> for every output c (<c>fo = h.Length</c>,
    /// <c>x.Length</c> rows). Rows of zero inputs are skipped.
    /// </summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> h)
    {
        int fi = x.Length, fo = h.Length;
        Check(fi, fo, w.Length);
        const int V = 8; // Vector256<float>.Count
        int c = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float wr = ref MemoryMarshal.GetReference(w);
            ref float hr = ref MemoryMarshal.GetReference(h);
            for (; c + (4 * V) <= fo; c += 4 * V)
            {
                var a0 = Vector256.LoadUnsafe(ref hr, (nuint)c);
                var a1 = Vector256.LoadUnsafe(ref hr, (nuint)(c + V));
                var a2 = Vector256.LoadUnsafe(ref hr, (nuint)(c + (2 * V)));
                var a3 = Vector256.LoadUnsafe(ref hr, (nuint)(c + (3 * V)));
                for (int j = 0; j < fi; j++)
                {
                    float xj = x[j];
                    if (xj == 0f)
                    {
                        continue;
                    }

                    var xv = Vector256.Create(xj);
                    nuint o = (nuint)((j * fo) + c);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref wr, o), xv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref wr, o + V), xv, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref wr, o + (2 * V)), xv, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref wr, o + (3 * V)), xv, a3);
                }

                a0.StoreUnsafe(ref hr, (nuint)c);
                a1.StoreUnsafe(ref hr, (nuint)(c + V));
                a2.StoreUnsafe(ref hr, (nuint)(c + (2 * V)));
                a3.StoreUnsafe(ref hr, (nuint)(c + (3 * V)));
            }

            for (; c + V <= fo; c += V)
            {
                var a = Vector256.LoadUnsafe(ref hr, (nuint)c);
                for (int j = 0; j < fi; j++)
                {
                    if (x[j] != 0f)
                    {
                        a = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref wr, (nuint)((j * fo) + c)), Vector256.Create(x[j]), a);
                    }
                }

                a.StoreUnsafe(ref hr, (nuint)c);
            }
        }

        for (; c < fo; c++)
        {
            float s = h[c];
            for (int j = 0; j < fi; j++)
            {
                s += x[j] * w[(j * fo) + c];
            }

            h[c] = s;
        }
    }

    /// <summary>
    /// For every row j (<c>input.Length</c> rows of <c>fo = delta.Length</c>): adds <c>input[j] · delta</c> to row j of
    /// <paramref name="gw"/> and sets <c>below[j] = w[j] · delta</c>. With <paramref name="relu"/> the inputs are ReLU
    /// outputs and a unit that was off (<c>input[j] ≤ 0</c>) gets 0 and adds nothing, so its row is not read.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> delta, ReadOnlySpan<float> w, Span<float> gw, Span<float> below, bool relu)
    {
        int fi = input.Length, fo = delta.Length;
        Check(fi, fo, w.Length);
        Check(fi, fo, gw.Length);
        if (below.Length < fi)
        {
            throw new ArgumentException($"{below.Length} input gradients for {fi} inputs.", nameof(below));
        }

        const int V = 8;
        ref float dr = ref MemoryMarshal.GetReference(delta);
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float gr = ref MemoryMarshal.GetReference(gw);
        for (int j = 0; j < fi; j++)
        {
            float ij = input[j];
            if (relu && ij <= 0f)
            {
                below[j] = 0f;
                continue;
            }

            int row = j * fo;
            int c = 0;
            float dot = 0f;
            if (Vector256.IsHardwareAccelerated && fo >= V)
            {
                var acc = Vector256<float>.Zero;
                var iv = Vector256.Create(ij);
                for (; c + V <= fo; c += V)
                {
                    var d = Vector256.LoadUnsafe(ref dr, (nuint)c);
                    nuint o = (nuint)(row + c);
                    acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref wr, o), d, acc);
                    Vector256.FusedMultiplyAdd(d, iv, Vector256.LoadUnsafe(ref gr, o)).StoreUnsafe(ref gr, o);
                }

                dot = Vector256.Sum(acc);
            }

            for (; c < fo; c++)
            {
                dot += w[row + c] * delta[c];
                gw[row + c] += ij * delta[c];
            }

            below[j] = dot;
        }
    }

    private static void Check(int fi, int fo, int weights)
    {
        if ((long)fi * fo > weights)
        {
            throw new ArgumentException($"{weights} weights for {fi} rows of {fo}.");
        }
    }
}
