namespace ParameterServer.Core.Analysis;

/// <summary>
/// The leading principal components of a covariance matrix. Up to <see cref="JacobiLimit"/> dimensions every
/// eigenpair comes from the cyclic Jacobi method (exact to rounding, robust to close eigenvalues); above it, from
/// subspace iteration on a block of <see cref="SubspaceBlock"/> vectors with Rayleigh-Ritz (<c>O(d²)</c> a step instead of
/// Jacobi's <c>O(d³)</c> a sweep). Each component's sign is fixed so its largest entry is positive.
/// </summary>
public static class PrincipalComponents
{
    /// <summary>Largest dimension solved by Jacobi.</summary>
    public const int JacobiLimit = 256;

    /// <summary>Vectors iterated together above <see cref="JacobiLimit"/>.</summary>
    public const int SubspaceBlock = 8;

    /// <summary>
    /// The <paramref name="count"/> leading eigenpairs of the symmetric <paramref name="covariance"/>
    /// (<c>d × d</c>, row-major), largest eigenvalue first, and the trace (the total variance).
    /// <paramref name="jacobiLimit"/> chooses the method (tests force either).
    /// </summary>
    public static PcaBasis Compute(ReadOnlySpan<double> covariance, int d, int count = 2, int jacobiLimit = JacobiLimit)
    {
        if (d <= 0 || covariance.Length != d * d)
        {
            throw new ArgumentException($"A covariance of dim {d} has {d * d} values; got {covariance.Length}.");
        }

        if (count < 1 || count > d)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Between 1 and {d} components can be computed.");
        }

        double trace = 0;
        for (int j = 0; j < d; j++)
        {
            trace += covariance[(j * d) + j];
        }

        var (values, vectors) = d <= jacobiLimit ? Jacobi(covariance, d) : Subspace(covariance, d, Math.Min(d, Math.Max(count, SubspaceBlock)));
        var components = new double[count][];
        var variances = new double[count];
        for (int i = 0; i < count; i++)
        {
            variances[i] = Math.Max(0, values[i]);
            components[i] = vectors[i];
            int big = 0;
            for (int j = 1; j < d; j++)
            {
                if (Math.Abs(components[i][j]) > Math.Abs(components[i][big]))
                {
                    big = j;
                }
            }

            if (components[i][big] < 0)
            {
                for (int j = 0; j < d; j++)
                {
                    components[i][j] = -components[i][j];
                }
            }
        }

        return new PcaBasis(components, variances, trace);
    }

    /// <summary>Every eigenpair of symmetric <paramref name="matrix"/> by cyclic Jacobi rotations, sorted by eigenvalue, largest first.</summary>
    public static (double[] Values, double[][] Vectors) Jacobi(ReadOnlySpan<double> matrix, int n)
    {
        var a = matrix.ToArray();
        var v = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            v[(i * n) + i] = 1;
        }

        double norm = 0;
        foreach (double x in a)
        {
            norm += x * x;
        }

        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    off += a[(p * n) + q] * a[(p * n) + q];
                }
            }

            if (off <= 1e-30 * norm || off == 0)
            {
                break;
            }

            for (int p = 0; p < n; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[(p * n) + q];
                    if (Math.Abs(apq) <= 1e-300)
                    {
                        continue;
                    }

                    // Zero a[p,q] with the rotation of angle φ, t = tan φ the smaller root of t² + 2θt − 1 = 0.
                    double theta = (a[(q * n) + q] - a[(p * n) + p]) / (2 * apq);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    double c = 1 / Math.Sqrt((t * t) + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[(k * n) + p], akq = a[(k * n) + q];
                        a[(k * n) + p] = (c * akp) - (s * akq);
                        a[(k * n) + q] = (s * akp) + (c * akq);
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[(p * n) + k], aqk = a[(q * n) + k];
                        a[(p * n) + k] = (c * apk) - (s * aqk);
                        a[(q * n) + k] = (s * apk) + (c * aqk);
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[(k * n) + p], vkq = v[(k * n) + q];
                        v[(k * n) + p] = (c * vkp) - (s * vkq);
                        v[(k * n) + q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }

        int[] order = [.. Enumerable.Range(0, n).OrderByDescending(i => a[(i * n) + i]).ThenBy(i => i)];
        var values = new double[n];
        var vectors = new double[n][];
        for (int r = 0; r < n; r++)
        {
            int i = order[r];
            values[r] = a[(i * n) + i];
            vectors[r] = new double[n];
            for (int k = 0; k < n; k++)
            {
                vectors[r][k] = v[(k * n) + i];
            }
        }

        return (values, vectors);
    }

    /// <summary>
    /// The <paramref name="block"/> leading eigenpairs by subspace iteration: <c>Q ← orth(C·Q)</c> from a seeded start,
    /// with a Rayleigh-Ritz step (Jacobi on <c>QᵀCQ</c>) every few iterations until the two leading Ritz pairs have
    /// residuals below 1e-10 of the largest eigenvalue, or 2,000 iterations.
    /// </summary>
    private static (double[] Values, double[][] Vectors) Subspace(ReadOnlySpan<double> c, int d, int block)
    {
        var rng = new Random(12345);
        var q = new double[block][];
        for (int i = 0; i < block; i++)
        {
            q[i] = new double[d];
            for (int j = 0; j < d; j++)
            {
                q[i][j] = rng.NextDouble() - 0.5;
            }
        }

        Orthonormalize(q);
        double[] values = new double[block];
        for (int it = 1; it <= 2000; it++)
        {
            var z = new double[block][];
            for (int i = 0; i < block; i++)
            {
                z[i] = Multiply(c, q[i], d);
            }

            if (it % 5 == 0 || it == 2000)
            {
                // Rayleigh-Ritz on the current basis: H = Qᵀ C Q, rotate Q to H's eigenvectors.
                var h = new double[block * block];
                for (int i = 0; i < block; i++)
                {
                    for (int k = 0; k < block; k++)
                    {
                        h[(i * block) + k] = Dot(q[i], z[k]);
                    }
                }

                var (theta, w) = Jacobi(h, block);
                var rotated = new double[block][];
                var rotatedZ = new double[block][];
                for (int r = 0; r < block; r++)
                {
                    rotated[r] = new double[d];
                    rotatedZ[r] = new double[d];
                    for (int i = 0; i < block; i++)
                    {
                        double wi = w[r][i];
                        for (int j = 0; j < d; j++)
                        {
                            rotated[r][j] += wi * q[i][j];
                            rotatedZ[r][j] += wi * z[i][j];
                        }
                    }
                }

                q = rotated;
                values = theta;
                double tolerance = 1e-10 * Math.Max(Math.Abs(theta[0]), 1e-300);
                bool converged = true;
                for (int r = 0; r < Math.Min(2, block); r++)
                {
                    double residual = 0;
                    for (int j = 0; j < d; j++)
                    {
                        double e = rotatedZ[r][j] - (theta[r] * q[r][j]);
                        residual += e * e;
                    }

                    converged &= Math.Sqrt(residual) <= tolerance;
                }

                if (converged || it == 2000)
                {
                    return (values, q);
                }

                z = rotatedZ;
            }

            q = z;
            Orthonormalize(q);
        }

        return (values, q);
    }

    private static double[] Multiply(ReadOnlySpan<double> c, double[] x, int d)
    {
        var y = new double[d];
        for (int j = 0; j < d; j++)
        {
            y[j] = System.Numerics.Tensors.TensorPrimitives.Dot(c.Slice(j * d, d), x);
        }

        return y;
    }

    /// <summary>Modified Gram-Schmidt, in place; a vector that vanishes is replaced by a unit axis orthogonal to the rest.</summary>
    private static void Orthonormalize(double[][] q)
    {
        int d = q[0].Length;
        for (int i = 0; i < q.Length; i++)
        {
            for (int attempt = 0; attempt <= d; attempt++)
            {
                for (int k = 0; k < i; k++)
                {
                    double s = Dot(q[k], q[i]);
                    for (int j = 0; j < d; j++)
                    {
                        q[i][j] -= s * q[k][j];
                    }
                }

                double norm = Math.Sqrt(Dot(q[i], q[i]));
                if (norm > 1e-200)
                {
                    for (int j = 0; j < d; j++)
                    {
                        q[i][j] /= norm;
                    }

                    break;
                }

                Array.Clear(q[i]);
                q[i][(i + attempt) % d] = 1;
            }
        }
    }

    private static double Dot(double[] a, double[] b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);
}

/// <summary>Leading principal components.</summary>
/// <param name="Components">Unit vectors, largest variance first.</param>
/// <param name="Variances">The variance along each (its eigenvalue).</param>
/// <param name="TotalVariance">The covariance's trace: the variance of every direction together.</param>
public sealed record PcaBasis(double[][] Components, double[] Variances, double TotalVariance)
{
    /// <summary>The share of the total variance along component <paramref name="i"/> (0 when the rows do not vary).</summary>
    public double Explained(int i) => TotalVariance > 0 ? Variances[i] / TotalVariance : 0;
}
