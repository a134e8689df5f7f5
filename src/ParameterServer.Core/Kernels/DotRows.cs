using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>Dot products of one query vector with a block of contiguous rows.</summary>
public static class DotRows
{
    /// <summary>
    /// Effectively computes <c>destination[r] = Σ_j rows[r·dim + j] · query[j]</c> for every row r of the block
    /// (<c>rows.Length / dim</c> rows, row-major). Four rows share each load of the query, so the block is read once.
    /// NaN or infinity in either input propagates into the rows it touches.
    /// </summary>
    public static void Compute(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> destination)
    {
        int dim = query.Length;
        int n = Check(rows, dim, destination);
        int r = 0;
        if (Vector256.IsHardwareAccelerated && dim % Vector256<float>.Count == 0)
        {
            ref float q = ref MemoryMarshal.GetReference(query);
            ref float m = ref MemoryMarshal.GetReference(rows);
            for (; r <= n - 4; r += 4)
            {
                nuint b0 = (nuint)(r * dim), b1 = b0 + (nuint)dim, b2 = b1 + (nuint)dim, b3 = b2 + (nuint)dim;
                Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                for (nuint j = 0; j < (nuint)dim; j += (nuint)Vector256<float>.Count)
                {
                    var qv = Vector256.LoadUnsafe(ref q, j);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref m, b0 + j), qv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref m, b1 + j), qv, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref m, b2 + j), qv, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref m, b3 + j), qv, a3);
                }

                destination[r] = Vector256.Sum(a0);
                destination[r + 1] = Vector256.Sum(a1);
                destination[r + 2] = Vector256.Sum(a2);
                destination[r + 3] = Vector256.Sum(a3);
            }
        }

        for (; r < n; r++)
        {
            destination[r] = TensorPrimitives.Dot(rows.Slice(r * dim, dim), query);
        }
    }

    internal static int Check(ReadOnlySpan<float> rows, int dim, Span<float> destination)
    {
        if (dim <= 0 || rows.Length % dim != 0)
        {
            throw new ArgumentException($"A block of {rows.Length} values is not a whole number of rows of dim {dim}.", nameof(rows));
        }

        int n = rows.Length / dim;
        if (destination.Length < n)
        {
            throw new ArgumentException($"Destination holds {destination.Length} values; the block has {n} rows.", nameof(destination));
        }

        return n;
    }
}
