namespace ParameterServer.Testing;

/// <summary>
/// Textbook dense linear algebra in double, written apart from the code under test to check it: Gaussian elimination
/// with partial pivoting, ridge normal equations, two-pass covariance and power iteration with deflation.
/// </summary>
public static class DenseReference
{
    /// <summary>Solves <c>A x = b</c> by Gaussian elimination with partial pivoting.</summary>
    public static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++)
            {
                if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col]))
                {
                    pivot = r;
                }
            }

            for (int c = 0; c < n; c++)
            {
                (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
            }

            (x[col], x[pivot]) = (x[pivot], x[col]);
            for (int r = col + 1; r < n; r++)
            {
                double f = m[r, col] / m[col, col];
                for (int c = col; c < n; c++)
                {
                    m[r, c] -= f * m[col, c];
                }

                x[r] -= f * x[col];
            }
        }

        for (int r = n - 1; r >= 0; r--)
        {
            double s = x[r];
            for (int c = r + 1; c < n; c++)
            {
                s -= m[r, c] * x[c];
            }

            x[r] = s / m[r, r];
        }

        return x;
    }

    /// <summary>The ridge solution of features <paramref name="rows"/> and targets <paramref name="y"/>: <c>(XᵀX + λI) w = Xᵀy</c>.</summary>
    public static double[] Ridge(IReadOnlyList<double[]> rows, IReadOnlyList<double> y, double lambda)
    {
        int p = rows[0].Length;
        var a = new double[p, p];
        var b = new double[p];
        for (int i = 0; i < rows.Count; i++)
        {
            for (int j = 0; j < p; j++)
            {
                b[j] += rows[i][j] * y[i];
                for (int k = 0; k < p; k++)
                {
                    a[j, k] += rows[i][j] * rows[i][k];
                }
            }
        }

        for (int j = 0; j < p; j++)
        {
            a[j, j] += lambda;
        }

        return Solve(a, b);
    }

    /// <summary>Mean and sample covariance (n − 1) of <paramref name="rows"/>, in two passes.</summary>
    public static (double[] Mean, double[,] Covariance) Covariance(IReadOnlyList<float[]> rows)
    {
        int d = rows[0].Length, n = rows.Count;
        var mean = new double[d];
        foreach (var r in rows)
        {
            for (int j = 0; j < d; j++)
            {
                mean[j] += r[j] / (double)n;
            }
        }

        var c = new double[d, d];
        foreach (var r in rows)
        {
            for (int j = 0; j < d; j++)
            {
                for (int k = 0; k < d; k++)
                {
                    c[j, k] += (r[j] - mean[j]) * (r[k] - mean[k]) / (n - 1);
                }
            }
        }

        return (mean, c);
    }

    /// <summary>The <paramref name="count"/> leading eigenpairs of symmetric positive semi-definite <paramref name="c"/> by power iteration with deflation.</summary>
    public static (double[] Values, double[][] Vectors) TopEigen(double[,] c, int count, int iterations = 20_000)
    {
        int d = c.GetLength(0);
        var m = (double[,])c.Clone();
        var values = new double[count];
        var vectors = new double[count][];
        for (int e = 0; e < count; e++)
        {
            var v = new double[d];
            for (int j = 0; j < d; j++)
            {
                v[j] = 1.0 + (0.01 * j);
            }

            double lambda = 0;
            for (int it = 0; it < iterations; it++)
            {
                var w = new double[d];
                for (int j = 0; j < d; j++)
                {
                    for (int k = 0; k < d; k++)
                    {
                        w[j] += m[j, k] * v[k];
                    }
                }

                double norm = Math.Sqrt(w.Sum(x => x * x));
                lambda = norm;
                for (int j = 0; j < d; j++)
                {
                    v[j] = w[j] / norm;
                }
            }

            values[e] = lambda;
            vectors[e] = v;
            for (int j = 0; j < d; j++)
            {
                for (int k = 0; k < d; k++)
                {
                    m[j, k] -= lambda * v[j] * v[k];
                }
            }
        }

        return (values, vectors);
    }

    /// <summary>|a·b| for unit vectors: 1 when they are the same axis, up to sign.</summary>
    public static double AbsCosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        double s = 0, na = 0, nb = 0;
        for (int j = 0; j < a.Count; j++)
        {
            s += a[j] * b[j];
            na += a[j] * a[j];
            nb += b[j] * b[j];
        }

        return Math.Abs(s) / Math.Sqrt(na * nb);
    }
}
