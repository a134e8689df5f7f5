using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Core.Kernels;

/// <summary>
/// Dot products of a block of rows with a group of <see cref="Queries"/> query vectors at once: a small matrix product
/// with its operands laid out as BLAS packs them. The queries are transposed once per search
/// (<see cref="PackQueries"/>: value j of the 64 queries is 64 contiguous floats), so a row's value j is broadcast
/// once and multiplied into 64 query lanes; rows stream from memory in their own row-major layout, with no transpose.
/// Four rows × 64 queries are held in registers (16 AVX-512 or, on machines without it, 2 × 8 AVX2 accumulators) for
/// the whole dot, and the block's scores come out row by row: <c>scores[r·64 + q]</c>.
/// </summary>
public static class DotTile
{
    /// <summary>Queries scored together: a group of a batch (a smaller group is padded with zero queries).</summary>
    public const int Queries = 64;

    /// <summary>
    /// Transposes up to <see cref="Queries"/> queries (<paramref name="queries"/>, <c>count × dim</c> row-major) into
    /// <paramref name="packed"/>: <c>packed[j·64 + q] = queries[q·dim + j]</c>, zero for the lanes of missing queries.
    /// </summary>
    public static void PackQueries(ReadOnlySpan<float> queries, int dim, Span<float> packed)
    {
        int count = queries.Length / dim;
        if (count > Queries || queries.Length != count * dim || packed.Length < dim * Queries)
        {
            throw new ArgumentException($"A group packs at most {Queries} whole queries of dim {dim} into {dim * Queries} floats; got {queries.Length} values and room for {packed.Length}.");
        }

        packed[..(dim * Queries)].Clear();
        for (int q = 0; q < count; q++)
        {
            for (int j = 0; j < dim; j++)
            {
                packed[(j * Queries) + q] = queries[(q * dim) + j];
            }
        }
    }

    /// <summary>
    /// Effectively computes <c>scores[r·64 + q] = Σ_j rows[r·dim + j] · packed[j·64 + q]</c> for every row r of
    /// <paramref name="rows"/> (row-major, <c>rows.Length / dim</c> of them) and every lane q of a group packed by
    /// <see cref="PackQueries"/>, each sum taken in order of j with fused multiply-adds. NaN or infinity in a row
    /// propagates into that row's scores only; in a query, into that query's lane only.
    /// </summary>
    public static void Compute(ReadOnlySpan<float> rows, int dim, ReadOnlySpan<float> packed, Span<float> scores)
    {
        int n = dim > 0 ? rows.Length / dim : 0;
        if (dim <= 0 || rows.Length != n * dim || packed.Length < dim * Queries || scores.Length < n * Queries)
        {
            throw new ArgumentException($"{rows.Length} row values of dim {dim} need {dim * Queries} packed query values and {n * Queries} scores; got {packed.Length} and {scores.Length}.");
        }

        int r = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; r <= n - 4; r += 4)
            {
                Four512(rows.Slice(r * dim, 4 * dim), dim, packed, scores.Slice(r * Queries, 4 * Queries));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; r <= n - 2; r += 2)
            {
                Two256(rows.Slice(r * dim, 2 * dim), dim, packed, scores.Slice(r * Queries, 2 * Queries));
            }
        }

        for (; r < n; r++)
        {
            Scalar(rows.Slice(r * dim, dim), packed, scores.Slice(r * Queries, Queries));
        }
    }

    /// <summary>The scalar reference: one row against the 64 lanes, each sum in order of j.</summary>
    public static void Scalar(ReadOnlySpan<float> row, ReadOnlySpan<float> packed, Span<float> scores)
    {
        for (int q = 0; q < Queries; q++)
        {
            float sum = 0f;
            for (int j = 0; j < row.Length; j++)
            {
                sum = MathF.FusedMultiplyAdd(row[j], packed[(j * Queries) + q], sum);
            }

            scores[q] = sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Four512(ReadOnlySpan<float> rows, int dim, ReadOnlySpan<float> packed, Span<float> scores)
    {
        ref float p = ref MemoryMarshal.GetReference(packed);
        ref float x0 = ref MemoryMarshal.GetReference(rows);
        ref float x1 = ref Unsafe.Add(ref x0, dim);
        ref float x2 = ref Unsafe.Add(ref x1, dim);
        ref float x3 = ref Unsafe.Add(ref x2, dim);
        Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        Vector512<float> b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        Vector512<float> c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        Vector512<float> d0 = a0, d1 = a0, d2 = a0, d3 = a0;
        for (nuint j = 0; j < (nuint)dim; j++)
        {
            nuint at = j * Queries;
            var q0 = Vector512.LoadUnsafe(ref p, at);
            var q1 = Vector512.LoadUnsafe(ref p, at + 16);
            var q2 = Vector512.LoadUnsafe(ref p, at + 32);
            var q3 = Vector512.LoadUnsafe(ref p, at + 48);
            var v = Vector512.Create(Unsafe.Add(ref x0, j));
            a0 = Vector512.FusedMultiplyAdd(v, q0, a0);
            a1 = Vector512.FusedMultiplyAdd(v, q1, a1);
            a2 = Vector512.FusedMultiplyAdd(v, q2, a2);
            a3 = Vector512.FusedMultiplyAdd(v, q3, a3);
            v = Vector512.Create(Unsafe.Add(ref x1, j));
            b0 = Vector512.FusedMultiplyAdd(v, q0, b0);
            b1 = Vector512.FusedMultiplyAdd(v, q1, b1);
            b2 = Vector512.FusedMultiplyAdd(v, q2, b2);
            b3 = Vector512.FusedMultiplyAdd(v, q3, b3);
            v = Vector512.Create(Unsafe.Add(ref x2, j));
            c0 = Vector512.FusedMultiplyAdd(v, q0, c0);
            c1 = Vector512.FusedMultiplyAdd(v, q1, c1);
            c2 = Vector512.FusedMultiplyAdd(v, q2, c2);
            c3 = Vector512.FusedMultiplyAdd(v, q3, c3);
            v = Vector512.Create(Unsafe.Add(ref x3, j));
            d0 = Vector512.FusedMultiplyAdd(v, q0, d0);
            d1 = Vector512.FusedMultiplyAdd(v, q1, d1);
            d2 = Vector512.FusedMultiplyAdd(v, q2, d2);
            d3 = Vector512.FusedMultiplyAdd(v, q3, d3);
        }

        ref float s = ref MemoryMarshal.GetReference(scores);
        a0.StoreUnsafe(ref s, 0);
        a1.StoreUnsafe(ref s, 16);
        a2.StoreUnsafe(ref s, 32);
        a3.StoreUnsafe(ref s, 48);
        b0.StoreUnsafe(ref s, 64);
        b1.StoreUnsafe(ref s, 80);
        b2.StoreUnsafe(ref s, 96);
        b3.StoreUnsafe(ref s, 112);
        c0.StoreUnsafe(ref s, 128);
        c1.StoreUnsafe(ref s, 144);
        c2.StoreUnsafe(ref s, 160);
        c3.StoreUnsafe(ref s, 176);
        d0.StoreUnsafe(ref s, 192);
        d1.StoreUnsafe(ref s, 208);
        d2.StoreUnsafe(ref s, 224);
        d3.StoreUnsafe(ref s, 240);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Two256(ReadOnlySpan<float> rows, int dim, ReadOnlySpan<float> packed, Span<float> scores)
    {
        ref float p = ref MemoryMarshal.GetReference(packed);
        ref float x0 = ref MemoryMarshal.GetReference(rows);
        ref float x1 = ref Unsafe.Add(ref x0, dim);
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector256<float> b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        for (nuint j = 0; j < (nuint)dim; j++)
        {
            nuint at = j * Queries;
            var u = Vector256.Create(Unsafe.Add(ref x0, j));
            var v = Vector256.Create(Unsafe.Add(ref x1, j));
            var q = Vector256.LoadUnsafe(ref p, at);
            a0 = Vector256.FusedMultiplyAdd(u, q, a0);
            b0 = Vector256.FusedMultiplyAdd(v, q, b0);
            q = Vector256.LoadUnsafe(ref p, at + 8);
            a1 = Vector256.FusedMultiplyAdd(u, q, a1);
            b1 = Vector256.FusedMultiplyAdd(v, q, b1);
            q = Vector256.LoadUnsafe(ref p, at + 16);
            a2 = Vector256.FusedMultiplyAdd(u, q, a2);
            b2 = Vector256.FusedMultiplyAdd(v, q, b2);
            q = Vector256.LoadUnsafe(ref p, at + 24);
            a3 = Vector256.FusedMultiplyAdd(u, q, a3);
            b3 = Vector256.FusedMultiplyAdd(v, q, b3);
            q = Vector256.LoadUnsafe(ref p, at + 32);
            a4 = Vector256.FusedMultiplyAdd(u, q, a4);
            b4 = Vector256.FusedMultiplyAdd(v, q, b4);
            q = Vector256.LoadUnsafe(ref p, at + 40);
            a5 = Vector256.FusedMultiplyAdd(u, q, a5);
            b5 = Vector256.FusedMultiplyAdd(v, q, b5);
            q = Vector256.LoadUnsafe(ref p, at + 48);
            a6 = Vector256.FusedMultiplyAdd(u, q, a6);
            b6 = Vector256.FusedMultiplyAdd(v, q, b6);
            q = Vector256.LoadUnsafe(ref p, at + 56);
            a7 = Vector256.FusedMultiplyAdd(u, q, a7);
            b7 = Vector256.FusedMultiplyAdd(v, q, b7);
        }

        ref float s = ref MemoryMarshal.GetReference(scores);
        a0.StoreUnsafe(ref s, 0);
        a1.StoreUnsafe(ref s, 8);
        a2.StoreUnsafe(ref s, 16);
        a3.StoreUnsafe(ref s, 24);
        a4.StoreUnsafe(ref s, 32);
        a5.StoreUnsafe(ref s, 40);
        a6.StoreUnsafe(ref s, 48);
        a7.StoreUnsafe(ref s, 56);
        b0.StoreUnsafe(ref s, 64);
        b1.StoreUnsafe(ref s, 72);
        b2.StoreUnsafe(ref s, 80);
        b3.StoreUnsafe(ref s, 88);
        b4.StoreUnsafe(ref s, 96);
        b5.StoreUnsafe(ref s, 104);
        b6.StoreUnsafe(ref s, 112);
        b7.StoreUnsafe(ref s, 120);
    }
}
