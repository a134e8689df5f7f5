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
    public static void Compute(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> destination) =>
        RowReduction.Compute<Term>(rows, query, destination);

    /// <summary>
    /// Two queries at once: effectively <see cref="Compute"/> for <paramref name="query0"/> into
    /// <paramref name="destination0"/> and <paramref name="query1"/> into <paramref name="destination1"/>, with each
    /// row loaded once for both (8 accumulators: the block's loads are shared, which is what a batch needs).
    /// </summary>
    public static void Compute2(ReadOnlySpan<float> rows, ReadOnlySpan<float> query0, ReadOnlySpan<float> query1, Span<float> destination0, Span<float> destination1)
    {
        int dim = query0.Length;
        if (query1.Length != dim)
        {
            throw new ArgumentException($"Queries of {dim} and {query1.Length} values: both need the same dim.", nameof(query1));
        }

        int n = RowReduction.Check(rows, dim, destination0);
        RowReduction.Check(rows, dim, destination1);
        if (!Vector256.IsHardwareAccelerated || dim % Vector256<float>.Count != 0)
        {
            Compute(rows, query0, destination0);
            Compute(rows, query1, destination1);
            return;
        }

        ref float p = ref MemoryMarshal.GetReference(query0);
        ref float q = ref MemoryMarshal.GetReference(query1);
        ref float m = ref MemoryMarshal.GetReference(rows);
        int r = 0;
        if (Vector512.IsHardwareAccelerated && dim % Vector512<float>.Count == 0)
        {
            for (; r <= n - 4; r += 4)
            {
                nuint b0 = (nuint)(r * dim), b1 = b0 + (nuint)dim, b2 = b1 + (nuint)dim, b3 = b2 + (nuint)dim;
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
                for (nuint j = 0; j < (nuint)dim; j += (nuint)Vector512<float>.Count)
                {
                    var pv = Vector512.LoadUnsafe(ref p, j);
                    var qv = Vector512.LoadUnsafe(ref q, j);
                    var r0 = Vector512.LoadUnsafe(ref m, b0 + j);
                    var r1 = Vector512.LoadUnsafe(ref m, b1 + j);
                    var r2 = Vector512.LoadUnsafe(ref m, b2 + j);
                    var r3 = Vector512.LoadUnsafe(ref m, b3 + j);
                    a0 = Vector512.FusedMultiplyAdd(r0, pv, a0);
                    a1 = Vector512.FusedMultiplyAdd(r1, pv, a1);
                    a2 = Vector512.FusedMultiplyAdd(r2, pv, a2);
                    a3 = Vector512.FusedMultiplyAdd(r3, pv, a3);
                    c0 = Vector512.FusedMultiplyAdd(r0, qv, c0);
                    c1 = Vector512.FusedMultiplyAdd(r1, qv, c1);
                    c2 = Vector512.FusedMultiplyAdd(r2, qv, c2);
                    c3 = Vector512.FusedMultiplyAdd(r3, qv, c3);
                }

                RowReduction.StoreSums(a0, a1, a2, a3, destination0, r);
                RowReduction.StoreSums(c0, c1, c2, c3, destination1, r);
            }
        }

        for (; r <= n - 4; r += 4)
        {
            nuint b0 = (nuint)(r * dim), b1 = b0 + (nuint)dim, b2 = b1 + (nuint)dim, b3 = b2 + (nuint)dim;
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
            for (nuint j = 0; j < (nuint)dim; j += (nuint)Vector256<float>.Count)
            {
                var pv = Vector256.LoadUnsafe(ref p, j);
                var qv = Vector256.LoadUnsafe(ref q, j);
                var r0 = Vector256.LoadUnsafe(ref m, b0 + j);
                var r1 = Vector256.LoadUnsafe(ref m, b1 + j);
                var r2 = Vector256.LoadUnsafe(ref m, b2 + j);
                var r3 = Vector256.LoadUnsafe(ref m, b3 + j);
                a0 = Vector256.FusedMultiplyAdd(r0, pv, a0);
                a1 = Vector256.FusedMultiplyAdd(r1, pv, a1);
                a2 = Vector256.FusedMultiplyAdd(r2, pv, a2);
                a3 = Vector256.FusedMultiplyAdd(r3, pv, a3);
                c0 = Vector256.FusedMultiplyAdd(r0, qv, c0);
                c1 = Vector256.FusedMultiplyAdd(r1, qv, c1);
                c2 = Vector256.FusedMultiplyAdd(r2, qv, c2);
                c3 = Vector256.FusedMultiplyAdd(r3, qv, c3);
            }

            RowReduction.StoreSums(a0, a1, a2, a3, destination0, r);
            RowReduction.StoreSums(c0, c1, c2, c3, destination1, r);
        }

        for (; r < n; r++)
        {
            var row = rows.Slice(r * dim, dim);
            destination0[r] = TensorPrimitives.Dot(row, query0);
            destination1[r] = TensorPrimitives.Dot(row, query1);
        }
    }

    /// <summary>The term of a dot product: <c>row[j] · query[j]</c>, fused multiply-add.</summary>
    private readonly struct Term : IRowTerm
    {
        public static Vector256<float> Add(Vector256<float> row, Vector256<float> query, Vector256<float> sum) => Vector256.FusedMultiplyAdd(row, query, sum);

        public static Vector512<float> Add(Vector512<float> row, Vector512<float> query, Vector512<float> sum) => Vector512.FusedMultiplyAdd(row, query, sum);

        public static float Score(ReadOnlySpan<float> row, ReadOnlySpan<float> query) => TensorPrimitives.Dot(row, query);
    }
}
