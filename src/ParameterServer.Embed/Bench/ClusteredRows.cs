using System.Numerics.Tensors;
using ParameterServer.Core.Hashing;
using ParameterServer.Core.Storage;

namespace ParameterServer.Embed.Bench;

/// <summary>
/// Rows and queries with the structure trained embeddings have (groups of similar rows), for benchmarks of approximate
/// search: a seeded mixture of <see cref="Clusters"/> Gaussians whose centres are drawn from N(0, I) and whose members
/// lie at N(centre, <see cref="Spread"/>² I). Draws are numbered: draw n is the same for the same seed and n (its
/// centre picked by a hash of n, its offset the table initializer's normal values for n), so the rows (draws 0 to
/// rows − 1) and the queries (draws from <see cref="QueryDraws"/> on) never coincide, as held-out points in the usual
/// ANN benchmarks. (Rows drawn from one Gaussian, the bench's default, have no such structure: every point is about as
/// far from its nearest neighbours as from the rest, the hardest case for any index.)
/// </summary>
internal sealed class ClusteredRows
{
    /// <summary>Standard deviation of a member around its centre, per dimension (the centres' is 1).</summary>
    public const float Spread = 0.5f;

    /// <summary>The number of the first draw used for queries (rows use the draws below it).</summary>
    public const long QueryDraws = 1L << 48;

    private readonly float[] _centres;
    private readonly RowInitializer _offsets;
    private readonly ulong _seed;
    private readonly int _dim;

    /// <summary>A mixture for <paramref name="rows"/> rows of dim <paramref name="dim"/>: one cluster per 1,000 rows (at least one).</summary>
    public ClusteredRows(int rows, int dim, int seed)
    {
        _dim = dim;
        _seed = (ulong)seed;
        Clusters = Math.Max(1, rows / 1000);
        _centres = new float[Clusters * dim];
        var centres = new RowInitializer(InitializerKind.Normal, 1f, seed);
        for (int c = 0; c < Clusters; c++)
        {
            centres.Fill(c, _centres.AsSpan(c * dim, dim));
        }

        _offsets = new RowInitializer(InitializerKind.Normal, Spread, seed + 1);
    }

    /// <summary>Clusters in the mixture.</summary>
    public int Clusters { get; }

    /// <summary>Writes draws <paramref name="first"/>, <paramref name="first"/> + 1, ... into <paramref name="destination"/> (row-major, <c>destination.Length / dim</c> of them).</summary>
    public void Draw(Span<float> destination, long first)
    {
        for (int at = 0, n = 0; at + _dim <= destination.Length; at += _dim, n++)
        {
            long draw = first + n;
            var row = destination.Slice(at, _dim);
            _offsets.Fill(draw, row);
            int centre = (int)(Mix64.Mix((ulong)draw ^ _seed) % (ulong)Clusters);
            TensorPrimitives.Add(row, _centres.AsSpan(centre * _dim, _dim), row);
        }
    }
}
