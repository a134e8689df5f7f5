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
    public static void Compute(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> destination) =>
        RowReduction.Compute<Term>(rows, query, destination);

    /// <summary>The term of a squared distance: <c>(row[j] − query[j])²</c>.</summary>
    private readonly struct Term : IRowTerm
    {
        public static Vector256<float> Add(Vector256<float> row, Vector256<float> query, Vector256<float> sum)
        {
            var d = row - query;
            return Vector256.FusedMultiplyAdd(d, d, sum);
        }

        public static Vector512<float> Add(Vector512<float> row, Vector512<float> query, Vector512<float> sum)
        {
            var d = row - query;
            return Vector512.FusedMultiplyAdd(d, d, sum);
        }

        public static float Score(ReadOnlySpan<float> row, ReadOnlySpan<float> query)
        {
            float sum = 0f;
            for (int j = 0; j < row.Length; j++)
            {
                float d = row[j] - query[j];
                sum += d * d;
            }

            return sum;
        }
    }
}
