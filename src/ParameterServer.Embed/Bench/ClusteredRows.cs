namespace ParameterServer.Embed.Bench;

/// <summary>
/// Rows and queries with the structure trained embeddings have (groups of similar rows), for benchmarks of approximate
/// search: a seeded mixture of <see cref="Clusters"/> Gaussians whose centres are drawn from N(0, I) and whose members
/// lie at N(centre, <see cref="Spread"/>² I). Queries are fresh draws from the same mixture, as held-out data points are
/// in the usual ANN benchmarks. (Rows drawn from one Gaussian, the bench's default, have no such structure: every
/// point is about as far from its nearest neighbours as from the rest, the hardest case for any index.)
/// </summary>
internal sealed class ClusteredRows
{
    /// <summary>Standard deviation of a member around its centre, per dimension (the centres' is 1).</summary>
    public const float Spread = 0.5f;

    private readonly float[] _centres;
    private readonly int _dim;

    /// <summary>A mixture for <paramref name="rows"/> rows of dim <paramref name="dim"/>: one cluster per 1,000 rows (at least one).</summary>
    public ClusteredRows(int rows, int dim, int seed)
    {
        _dim = dim;
        Clusters = Math.Max(1, rows / 1000);
        _centres = new float[Clusters * dim];
        var rng = new Random(seed);
        for (int i = 0; i < _centres.Length; i++)
        {
            _centres[i] = Gaussian(rng);
        }
    }

    /// <summary>Clusters in the mixture.</summary>
    public int Clusters { get; }

    /// <summary>Writes <c>destination.Length / dim</c> draws from the mixture (row-major), with <paramref name="rng"/>.</summary>
    public void Draw(Span<float> destination, Random rng)
    {
        for (int at = 0; at + _dim <= destination.Length; at += _dim)
        {
            var centre = _centres.AsSpan(rng.Next(Clusters) * _dim, _dim);
            for (int j = 0; j < _dim; j++)
            {
                destination[at + j] = centre[j] + (Spread * Gaussian(rng));
            }
        }
    }

    private static float Gaussian(Random rng)
    {
        // Box–Muller; 1 − u keeps the logarithm's argument in (0, 1].
        double u = 1.0 - rng.NextDouble(), v = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * v));
    }
}
