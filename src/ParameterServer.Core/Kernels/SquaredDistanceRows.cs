using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>Squared euclidean distances of one query vector to a block of contiguous rows.</summary>
public static class SquaredDistanceRows
{
    /// <summary>
    /// Effectively computes <c>destination[r] = Σ_j (rows[r·dim + j] − query[j])²</c> for every row r of the block.
    /// Computed directly (not as <c>‖q‖² + ‖r‖² − 2q·r</c>), so near-duplicates keep their exact order.
    /// NaN or infinity in either input propagates into the rows it touches.
    /// </summary>
    public static void Compute(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> destination)
    {
        int dim = query.Length;
        int n = DotRows.Check(rows, dim, destination);
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
                    var d0 = Vector256.LoadUnsafe(ref m, b0 + j) - qv;
                    var d1 = Vector256.LoadUnsafe(ref m, b1 + j) - qv;
                    var d2 = Vector256.LoadUnsafe(ref m, b2 + j) - qv;
                    var d3 = Vector256.LoadUnsafe(ref m, b3 + j) - qv;
                    a0 = Vector256.FusedMultiplyAdd(d0, d0, a0);
                    a1 = Vector256.FusedMultiplyAdd(d1, d1, a1);
                    a2 = Vector256.FusedMultiplyAdd(d2, d2, a2);
                    a3 = Vector256.FusedMultiplyAdd(d3, d3, a3);
                }

                DotRows.StoreSums(a0, a1, a2, a3, destination, r);
            }
        }

        for (; r < n; r++)
        {
            var row = rows.Slice(r * dim, dim);
            float sum = 0f;
            for (int j = 0; j < dim; j++)
            {
                float d = row[j] - query[j];
                sum += d * d;
            }

            destination[r] = sum;
        }
    }
}
