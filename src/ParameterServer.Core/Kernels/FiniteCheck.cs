using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>Finds NaN or infinite values in a span with SIMD.</summary>
public static class FiniteCheck
{
    /// <summary>
    /// The index of the first NaN or infinite value in <paramref name="values"/>, or -1 when all are finite.
    /// Uses the fact that <c>x - x</c> is 0 for every finite x and NaN otherwise.
    /// </summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector256<float>.Count;
            for (; i <= last; i += Vector256<float>.Count)
            {
                Vector256<float> v = Vector256.LoadUnsafe(ref start, (nuint)i);
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero))
                {
                    break;
                }
            }
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
