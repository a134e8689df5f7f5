namespace ParameterServer.Core.Data;

/// <summary>Settings of a MovieLens-like synthetic data set with planted latent factors.</summary>
/// <param name="Users">Number of users (ids 1..Users).</param>
/// <param name="Items">Number of items (ids 1..Items).</param>
/// <param name="Count">Number of ratings.</param>
/// <param name="LatentDim">Dimension of the planted factors.</param>
/// <param name="Noise">Standard deviation of the rating noise: the RMSE floor no model can beat.</param>
/// <param name="Clusters">Items are drawn around this many planted centroids.</param>
/// <param name="Seed">Random seed.</param>
/// <param name="Popularity">
/// Zipf exponent of item popularity: item of popularity rank r is drawn with weight r^−Popularity (ranks are a seeded
/// shuffle of the ids). 0 (the default) draws items uniformly; about 1 resembles MovieLens' long tail.
/// </param>
public sealed record SyntheticSettings(int Users = 2000, int Items = 1000, int Count = 200_000, int LatentDim = 8, float Noise = 0.5f, int Clusters = 8, int Seed = 7, float Popularity = 0f);

/// <summary>A synthetic data set and the truth it was drawn from.</summary>
/// <param name="Data">The ratings.</param>
/// <param name="ItemCluster">Planted cluster of item id i at index i − 1.</param>
/// <param name="Settings">How it was made.</param>
public sealed record SyntheticData(Ratings Data, int[] ItemCluster, SyntheticSettings Settings);

/// <summary>
/// Generates ratings <c>y = 3.5 + b_u + b_i + u·v + N(0, noise²)</c> with u, v planted (signal variance about 1),
/// item vectors scattered around cluster centroids, biases N(0, 0.3²). Users are drawn uniformly; items uniformly or
/// by a power law (<see cref="SyntheticSettings.Popularity"/>).
/// </summary>
public static class SyntheticRatings
{
    /// <summary>Draws a data set from <paramref name="s"/>; the same settings give the same data.</summary>
    public static SyntheticData Generate(SyntheticSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Users <= 0 || s.Items <= 0 || s.Count <= 0 || s.LatentDim <= 0 || s.Clusters <= 0 || !(s.Popularity >= 0 && s.Popularity <= 5))
        {
            throw new ArgumentException($"Synthetic settings must be positive (popularity in [0, 5]): {s}.");
        }

        var rng = new Random(s.Seed);
        int k = s.LatentDim;
        float sd = (float)Math.Pow(k, -0.25);
        float[] centroids = Normals(rng, s.Clusters * k, sd);
        float[] userVec = Normals(rng, s.Users * k, sd);
        float[] itemVec = new float[s.Items * k];
        int[] cluster = new int[s.Items];
        for (int i = 0; i < s.Items; i++)
        {
            cluster[i] = rng.Next(s.Clusters);
            for (int d = 0; d < k; d++)
            {
                itemVec[(i * k) + d] = centroids[(cluster[i] * k) + d] + (0.25f * sd * Normal(rng));
            }
        }

        float[] ub = Normals(rng, s.Users, 0.3f);
        float[] ib = Normals(rng, s.Items, 0.3f);
        var popular = s.Popularity > 0 ? new PowerLaw(s.Items, s.Popularity, s.Seed) : null;
        var users = new long[s.Count];
        var items = new long[s.Count];
        var values = new float[s.Count];
        for (int n = 0; n < s.Count; n++)
        {
            int u = rng.Next(s.Users);
            int i = popular?.Draw(rng) ?? rng.Next(s.Items);
            float dot = System.Numerics.Tensors.TensorPrimitives.Dot(userVec.AsSpan(u * k, k), itemVec.AsSpan(i * k, k));
            users[n] = u + 1;
            items[n] = i + 1;
            values[n] = 3.5f + ub[u] + ib[i] + dot + (s.Noise * Normal(rng));
        }

        return new SyntheticData(new Ratings(users, items, values), cluster, s);
    }

    private static float[] Normals(Random rng, int n, float sd)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = sd * Normal(rng);
        }

        return a;
    }

    private static float Normal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>Draws items with weight rank^−exponent, ranks a seeded shuffle of the items (binary search of the CDF).</summary>
    private sealed class PowerLaw
    {
        private readonly double[] _cdf;
        private readonly int[] _itemOfRank;

        public PowerLaw(int items, float exponent, int seed)
        {
            _itemOfRank = [.. Enumerable.Range(0, items)];
            new Random(seed ^ 0x5DEECE6).Shuffle(_itemOfRank);
            _cdf = new double[items];
            double sum = 0;
            for (int r = 0; r < items; r++)
            {
                sum += Math.Pow(r + 1, -exponent);
                _cdf[r] = sum;
            }

            for (int r = 0; r < items; r++)
            {
                _cdf[r] /= sum;
            }
        }

        public int Draw(Random rng)
        {
            int r = Array.BinarySearch(_cdf, rng.NextDouble());
            return _itemOfRank[Math.Min(r < 0 ? ~r : r, _cdf.Length - 1)];
        }
    }
}
