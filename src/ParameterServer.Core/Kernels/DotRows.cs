using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

                StoreSums(a0, a1, a2, a3, destination, r);
            }
        }

        for (; r < n; r++)
        {
            destination[r] = TensorPrimitives.Dot(rows.Slice(r * dim, dim), query);
        }
    }

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

        int n = Check(rows, dim, destination0);
        Check(rows, dim, destination1);
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

            StoreSums(a0, a1, a2, a3, destination0, r);
            StoreSums(c0, c1, c2, c3, destination1, r);
        }

        for (; r < n; r++)
        {
            var row = rows.Slice(r * dim, dim);
            destination0[r] = TensorPrimitives.Dot(row, query0);
            destination1[r] = TensorPrimitives.Dot(row, query1);
        }
    }

    /// <summary>Writes the horizontal sums of four accumulators to <c>destination[r..r+4]</c> (a shuffle tree on x86).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreSums(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3, Span<float> destination, int r)
    {
        if (Avx.IsSupported)
        {
            // hadd(hadd(a0, a1), hadd(a2, a3)) holds the four sums of the low halves, then of the high halves.
            var h = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
            (h.GetLower() + h.GetUpper()).CopyTo(destination.Slice(r, 4));
            return;
        }

        destination[r] = Vector256.Sum(a0);
        destination[r + 1] = Vector256.Sum(a1);
        destination[r + 2] = Vector256.Sum(a2);
        destination[r + 3] = Vector256.Sum(a3);
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
