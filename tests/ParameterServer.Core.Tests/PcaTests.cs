using ParameterServer.Core.Analysis;

namespace ParameterServer.Core.Tests;

public class PcaTests
{
    private static List<float[]> Rows(int n, int d, int seed, double offset)
    {
        // Correlated rows: a random linear map of independent normals with decreasing scales, far from the origin.
        var rng = new Random(seed);
        var map = new double[d, d];
        for (int j = 0; j < d; j++)
        {
            for (int k = 0; k < d; k++)
            {
                map[j, k] = rng.NextDouble() - 0.5;
            }
        }

        var rows = new List<float[]>();
        for (int i = 0; i < n; i++)
        {
            var z = Enumerable.Range(0, d).Select(k => Normal(rng) * (3.0 / (k + 1))).ToArray();
            rows.Add([.. Enumerable.Range(0, d).Select(j => (float)(offset + Enumerable.Range(0, d).Sum(k => map[j, k] * z[k])))]);
        }

        return rows;
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    [Theory]
    [InlineData(0.0)]
    [InlineData(1000.0)]
    public void One_pass_covariance_equals_the_two_pass_reference(double offset)
    {
        var rows = Rows(3000, 7, 1, offset);
        var acc = new CovarianceAccumulator(7);
        rows.ForEach(r => acc.Add(r));
        var (mean, reference) = DenseReference.Covariance(rows);
        var c = acc.Covariance();
        Assert.Equal(3000, acc.Count);
        for (int j = 0; j < 7; j++)
        {
            Assert.Equal(mean[j], acc.Mean()[j], 1e-9);
            for (int k = 0; k < 7; k++)
            {
                Assert.Equal(reference[j, k], c[(j * 7) + k], 1e-9);
            }
        }
    }

    [Theory]
    [InlineData(12, 256)]
    [InlineData(40, 256)]
    [InlineData(40, 0)]
    public void Leading_components_match_power_iteration(int d, int jacobiLimit)
    {
        var rows = Rows(4000, d, d, 0);
        var (_, c) = DenseReference.Covariance(rows);
        var flat = new double[d * d];
        for (int j = 0; j < d; j++)
        {
            for (int k = 0; k < d; k++)
            {
                flat[(j * d) + k] = c[j, k];
            }
        }

        var basis = PrincipalComponents.Compute(flat, d, 2, jacobiLimit);
        var (values, vectors) = DenseReference.TopEigen(c, 2);
        double trace = Enumerable.Range(0, d).Sum(j => c[j, j]);
        Assert.Equal(trace, basis.TotalVariance, 1e-9);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(values[i], basis.Variances[i], 1e-6);
            Assert.True(DenseReference.AbsCosine(vectors[i], basis.Components[i]) > 1 - 1e-9, $"component {i + 1}");
            Assert.Equal(1.0, Math.Sqrt(basis.Components[i].Sum(x => x * x)), 12);
            Assert.True(basis.Components[i].MaxBy(Math.Abs) > 0, "sign: largest entry positive");
        }

        Assert.Equal(0, basis.Components[0].Zip(basis.Components[1], (a, b) => a * b).Sum(), 1e-9);
    }

    [Fact]
    public void Planted_axes_and_variances_come_back()
    {
        // The four points 1 + (±3)·e1 + (±1)·e2, 250 times each: exactly uncorrelated, variance 9·n/(n−1) along e1 and
        // n/(n−1) along e2, nothing in the other 3 dimensions. So PC1 = ±e1, PC2 = ±e2, PC1 explains 90 %.
        const int d = 5, n = 1000;
        double[] e1 = [0.6, 0.8, 0, 0, 0], e2 = [0, 0, 0, 0.6, -0.8];
        var acc = new CovarianceAccumulator(d);
        for (int i = 0; i < n; i++)
        {
            double x = i % 2 == 0 ? 3 : -3, y = (i / 2) % 2 == 0 ? 1 : -1;
            acc.Add([.. Enumerable.Range(0, d).Select(j => (float)(1 + (x * e1[j]) + (y * e2[j])))]);
        }

        var basis = PrincipalComponents.Compute(acc.Covariance(), d);
        Assert.True(DenseReference.AbsCosine(e1, basis.Components[0]) > 1 - 1e-12);
        Assert.True(DenseReference.AbsCosine(e2, basis.Components[1]) > 1 - 1e-12);
        Assert.Equal(9.0 * n / (n - 1), basis.Variances[0], 1e-5);
        Assert.Equal(1.0 * n / (n - 1), basis.Variances[1], 1e-5);
        Assert.Equal(0.9, basis.Explained(0), 1e-6);
        Assert.Equal(0.1, basis.Explained(1), 1e-6);
    }

    [Fact]
    public void One_row_has_no_covariance()
    {
        var acc = new CovarianceAccumulator(3);
        acc.Add([1f, 2f, 3f]);
        Assert.Throws<InvalidOperationException>(() => acc.Covariance());
    }
}
