using ParameterServer.Core.Hashing;
using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Storage;

/// <summary>How new rows are filled.</summary>
public enum InitializerKind
{
    /// <summary>Normal(0, scale).</summary>
    Normal = 0,

    /// <summary>Uniform(-scale, scale).</summary>
    Uniform = 1,

    /// <summary>All zeros (biases).</summary>
    Zeros = 2,
}

/// <summary>
/// Fills a new row deterministically from (table seed, row id): the same row gets the same start on any shard,
/// silo or run. Uses a SplitMix64 stream; no allocation. Normal values come from <see cref="BoxMuller"/> in float32
/// (uniforms of 24 bits, so no value lies beyond 5.8 standard deviations), bit-identical on every machine.
/// </summary>
public readonly record struct RowInitializer(InitializerKind Kind, float Scale, long Seed)
{
    /// <summary>The names accepted by <see cref="ParseKind"/>.</summary>
    public static readonly IReadOnlyList<string> KindNames = ["normal", "uniform", "zeros"];

    /// <summary>Parses an initializer name; an unknown name gets an error that lists the valid ones.</summary>
    public static InitializerKind ParseKind(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "normal" => InitializerKind.Normal,
        "uniform" => InitializerKind.Uniform,
        "zeros" or "zero" => InitializerKind.Zeros,
        _ => throw new ArgumentException($"Unknown initializer '{name}'. Valid initializers: {string.Join(", ", KindNames)}."),
    };

    /// <summary>Writes the initial values of row <paramref name="id"/> into <paramref name="row"/>.</summary>
    public void Fill(long id, Span<float> row)
    {
        if (Kind == InitializerKind.Zeros || Scale == 0f)
        {
            row.Clear();
            return;
        }

        ulong state = Mix64.Mix((ulong)Seed ^ Mix64.Mix((ulong)id + Mix64.Golden));
        if (Kind == InitializerKind.Uniform)
        {
            for (int i = 0; i < row.Length; i++)
            {
                row[i] = (float)(((2.0 * NextUnit(ref state)) - 1.0) * Scale);
            }

            return;
        }

        FillNormal(ref state, row);
    }

    /// <summary>Pairs of values drawn per block: the block's uniforms and normals live on the stack.</summary>
    private const int BlockPairs = 32;

    /// <summary>
    /// Box-Muller in blocks: per pair of values two uniforms off the stream (24 bits each: u1 in (0, 1], u2 in
    /// [0, 1)), then <see cref="BoxMuller.Transform"/> on the block. A block's lanes past the row's last pair get fixed
    /// uniforms and are not written.
    /// </summary>
    private void FillNormal(ref ulong state, Span<float> row)
    {
        Span<float> u1 = stackalloc float[BlockPairs], u2 = stackalloc float[BlockPairs];
        Span<float> cos = stackalloc float[BlockPairs], sin = stackalloc float[BlockPairs];
        int pairs = (row.Length + 1) / 2;
        for (int start = 0; start < pairs; start += BlockPairs)
        {
            int n = Math.Min(BlockPairs, pairs - start);
            int lanes = (n + BoxMuller.Width - 1) / BoxMuller.Width * BoxMuller.Width;
            for (int k = 0; k < n; k++)
            {
                u1[k] = ((Mix64.Next(ref state) >> 40) + 1) * (1f / (1 << 24));
                u2[k] = (Mix64.Next(ref state) >> 40) * (1f / (1 << 24));
            }

            u1[n..lanes].Fill(1f);
            u2[n..lanes].Clear();
            BoxMuller.Transform(u1[..lanes], u2[..lanes], Scale, cos, sin);
            var block = row[(2 * start)..];
            for (int k = 0; k < n; k++)
            {
                block[2 * k] = cos[k];
                if (2 * k + 1 < block.Length)
                {
                    block[2 * k + 1] = sin[k];
                }
            }
        }
    }

    private static double NextUnit(ref ulong state) => (Mix64.Next(ref state) >> 11) * (1.0 / (1UL << 53));
}
