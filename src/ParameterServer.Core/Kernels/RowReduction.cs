using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ParameterServer.Core.Kernels;

/// <summary>
/// What one row contributes to its score against a query, lane by lane: the term a <see cref="RowReduction"/> sums.
/// Implemented by structs, so each use is compiled for its term (no call per lane).
/// </summary>
public interface IRowTerm
{
    /// <summary>Adds the term of eight lanes of a row and the query to <paramref name="sum"/>.</summary>
    static abstract Vector256<float> Add(Vector256<float> row, Vector256<float> query, Vector256<float> sum);

    /// <summary>Adds the term of sixteen lanes of a row and the query to <paramref name="sum"/> (AVX-512).</summary>
    static abstract Vector512<float> Add(Vector512<float> row, Vector512<float> query, Vector512<float> sum);

    /// <summary>The whole score of one row, scalar (rows whose dim is not a multiple of 8, and the tail of a block).</summary>
    static abstract float Score(ReadOnlySpan<float> row, ReadOnlySpan<float> query);
}

/// <summary>
/// The loop shared by the block kernels of a search (<see cref="DotRows"/>, <see cref="SquaredDistanceRows"/>): four
/// rows at a time share each load of the query, each with its own accumulator, then one shuffle tree gives the four
/// sums; rows left over (or any dim that is not a multiple of 8) are scored by the term's scalar form. Where the CPU
/// has AVX-512 and dim is a multiple of 16, each load is a whole cache line: half the loads and multiply-adds per
/// row, which is what lets one query's scan keep up with a plain memory stream (about 1.3× faster than 32-byte lanes
/// on the development machine's Xeon).
/// </summary>
public static class RowReduction
{
    /// <summary>Effectively computes <c>destination[r] = Σ_j TTerm(rows[r·dim + j], query[j])</c> for every row r of the block.</summary>
    public static void Compute<TTerm>(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> destination)
        where TTerm : struct, IRowTerm
    {
        int dim = query.Length;
        int n = Check(rows, dim, destination);
        int r = 0;
        if (Vector512.IsHardwareAccelerated && dim % Vector512<float>.Count == 0)
        {
            ref float q = ref MemoryMarshal.GetReference(query);
            ref float m = ref MemoryMarshal.GetReference(rows);
            for (; r <= n - 4; r += 4)
            {
                nuint b0 = (nuint)(r * dim), b1 = b0 + (nuint)dim, b2 = b1 + (nuint)dim, b3 = b2 + (nuint)dim;
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                nuint j = 0;

                // Four lines of each row per pass where dim allows (a dim-64 row in one pass): the loop's own
                // compare and branch cost as much as the multiply-adds when paid for every line.
                for (; j + 64 <= (nuint)dim; j += 64)
                {
                    Lines4<TTerm>(ref q, ref m, b0, b1, b2, b3, j, ref a0, ref a1, ref a2, ref a3);
                    Lines4<TTerm>(ref q, ref m, b0, b1, b2, b3, j + 16, ref a0, ref a1, ref a2, ref a3);
                    Lines4<TTerm>(ref q, ref m, b0, b1, b2, b3, j + 32, ref a0, ref a1, ref a2, ref a3);
                    Lines4<TTerm>(ref q, ref m, b0, b1, b2, b3, j + 48, ref a0, ref a1, ref a2, ref a3);
                }

                for (; j < (nuint)dim; j += (nuint)Vector512<float>.Count)
                {
                    Lines4<TTerm>(ref q, ref m, b0, b1, b2, b3, j, ref a0, ref a1, ref a2, ref a3);
                }

                StoreSums(a0, a1, a2, a3, destination, r);
            }
        }
        else if (Vector256.IsHardwareAccelerated && dim % Vector256<float>.Count == 0)
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
                    a0 = TTerm.Add(Vector256.LoadUnsafe(ref m, b0 + j), qv, a0);
                    a1 = TTerm.Add(Vector256.LoadUnsafe(ref m, b1 + j), qv, a1);
                    a2 = TTerm.Add(Vector256.LoadUnsafe(ref m, b2 + j), qv, a2);
                    a3 = TTerm.Add(Vector256.LoadUnsafe(ref m, b3 + j), qv, a3);
                }

                StoreSums(a0, a1, a2, a3, destination, r);
            }
        }

        for (; r < n; r++)
        {
            destination[r] = TTerm.Score(rows.Slice(r * dim, dim), query);
        }
    }

    /// <summary>Adds the terms of one 16-lane line at offset <paramref name="j"/> of four rows (starting at b0..b3) to their accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lines4<TTerm>(ref float q, ref float m, nuint b0, nuint b1, nuint b2, nuint b3, nuint j, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
        where TTerm : struct, IRowTerm
    {
        var qv = Vector512.LoadUnsafe(ref q, j);
        a0 = TTerm.Add(Vector512.LoadUnsafe(ref m, b0 + j), qv, a0);
        a1 = TTerm.Add(Vector512.LoadUnsafe(ref m, b1 + j), qv, a1);
        a2 = TTerm.Add(Vector512.LoadUnsafe(ref m, b2 + j), qv, a2);
        a3 = TTerm.Add(Vector512.LoadUnsafe(ref m, b3 + j), qv, a3);
    }

    /// <summary>Writes the horizontal sums of four 16-lane accumulators to <c>destination[r..r+4]</c>: each folded to 8 lanes, then the shuffle tree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreSums(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, Span<float> destination, int r) =>
        StoreSums(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper(), a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper(), destination, r);

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

    /// <summary>The number of rows of the block; <see cref="ArgumentException"/> unless it is whole and fits <paramref name="destination"/>.</summary>
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
