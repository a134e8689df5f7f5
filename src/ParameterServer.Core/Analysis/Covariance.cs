using System.Numerics.Tensors;

namespace ParameterServer.Core.Analysis;

/// <summary>
/// The mean and the <c>dim × dim</c> sample covariance of rows seen one at a time, in double, in one pass. Rows are
/// shifted by the first row before their sums and outer products are taken, so the result keeps its precision when the
/// rows sit far from the origin.
/// </summary>
public sealed class CovarianceAccumulator
{
    private readonly double[] _shift;
    private readonly double[] _sum;
    private readonly double[] _comoment;
    private readonly double[] _row;

    /// <summary>An accumulator for rows of <paramref name="dim"/> values.</summary>
    public CovarianceAccumulator(int dim)
    {
        if (dim <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, "The dimension must be positive.");
        }

        Dim = dim;
        _shift = new double[dim];
        _sum = new double[dim];
        _comoment = new double[dim * dim];
        _row = new double[dim];
    }

    /// <summary>Values per row.</summary>
    public int Dim { get; }

    /// <summary>Rows added.</summary>
    public long Count { get; private set; }

    /// <summary>Adds one row of <see cref="Dim"/> values.</summary>
    public void Add(ReadOnlySpan<float> row)
    {
        if (row.Length != Dim)
        {
            throw new ArgumentException($"A row of {row.Length} values does not fit dim {Dim}.", nameof(row));
        }

        if (Count == 0)
        {
            for (int j = 0; j < Dim; j++)
            {
                _shift[j] = row[j];
            }
        }

        for (int j = 0; j < Dim; j++)
        {
            _row[j] = row[j] - _shift[j];
        }

        TensorPrimitives.Add(_sum, _row, _sum);
        // Upper triangle, row j from column j: M[j, j..] += r_j · r[j..].
        for (int j = 0; j < Dim; j++)
        {
            double rj = _row[j];
            if (rj != 0)
            {
                var upper = _comoment.AsSpan((j * Dim) + j, Dim - j);
                TensorPrimitives.MultiplyAdd(_row.AsSpan(j), rj, upper, upper);
            }
        }

        Count++;
    }

    /// <summary>The mean row.</summary>
    public double[] Mean()
    {
        var mean = new double[Dim];
        for (int j = 0; j < Dim; j++)
        {
            mean[j] = _shift[j] + (Count == 0 ? 0 : _sum[j] / Count);
        }

        return mean;
    }

    /// <summary>The sample covariance (divided by <c>n − 1</c>), full and symmetric, row-major. Needs two rows or more.</summary>
    public double[] Covariance()
    {
        if (Count < 2)
        {
            throw new InvalidOperationException($"A covariance needs at least 2 rows; there are {Count}.");
        }

        int d = Dim;
        var c = new double[d * d];
        double n = Count;
        for (int j = 0; j < d; j++)
        {
            for (int k = j; k < d; k++)
            {
                double v = (_comoment[(j * d) + k] - (_sum[j] * _sum[k] / n)) / (n - 1);
                c[(j * d) + k] = v;
                c[(k * d) + j] = v;
            }
        }

        return c;
    }
}
