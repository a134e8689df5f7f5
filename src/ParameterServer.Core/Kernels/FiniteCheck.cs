using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>Finds NaN or infinite values in a span with SIMD.</summary>
public static class FiniteCheck
{
    /// <summary>
    /// The index of the first NaN or infinite value in <paramref name="values"/>, or -1 when all are finite.
    /// Uses the fact that <c>x - x</c> is 0 for every finite x and NaN otherwise. Every push passes here whole before
    /// any row changes, so the common all-finite case is what is fast: a block of four Vector512 (where the CPU has
    /// them; one Vector256 at a time otherwise) is tested with one compare of their differences' sum (NaN when any lane
    /// is not finite), and only a block that fails is searched element by element for the first offender.
    /// </summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        ref float start = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            const int block = 4 * 16; // four Vector512<float>
            for (; i <= values.Length - block; i += block)
            {
                var a = Vector512.LoadUnsafe(ref start, (nuint)i);
                var b = Vector512.LoadUnsafe(ref start, (nuint)(i + 16));
                var c = Vector512.LoadUnsafe(ref start, (nuint)(i + 32));
                var d = Vector512.LoadUnsafe(ref start, (nuint)(i + 48));
                if (!Vector512.EqualsAll((a - a) + (b - b) + ((c - c) + (d - d)), Vector512<float>.Zero))
                {
                    break;
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref start, (nuint)i);
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero))
                {
                    break;
                }
            }
        }

        // The tail, or the block that failed and whatever follows it, element by element.
        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(Unsafe.Add(ref start, i)))
            {
                return i;
            }
        }

        return -1;
    }
}
