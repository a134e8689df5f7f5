using ParameterServer.Core.Analysis;

namespace ParameterServer.Client.Analysis;

/// <summary>
/// A 2-D principal component map of a table computed on streamed rows: a first scan accumulates the mean and the
/// <c>dim × dim</c> covariance in double (<see cref="CovarianceAccumulator"/>) and keeps the most updated rows, the
/// two leading eigenvectors come from <see cref="PrincipalComponents"/>, and a second scan projects every row.
/// Memory: the covariance plus two floats a row.
/// </summary>
public static class TablePca
{
    /// <summary>Maps <paramref name="table"/>; the <paramref name="labelled"/> most updated rows come back apart, for labels.</summary>
    /// <exception cref="ArgumentException">The table has dim 1, or <paramref name="labelled"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The table holds fewer than two rows.</exception>
    public static async Task<PcaMap> ComputeAsync(TableClient table, int labelled, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (labelled < 0)
        {
            throw new ArgumentException($"The number of labelled rows must be 0 or more; got {labelled}.");
        }

        int d = table.Dim;
        if (d < 2)
        {
            throw new ArgumentException($"Table {table.Spec.Name} has dim {d}; a 2-D PCA needs dim 2 or more.");
        }

        var acc = new CovarianceAccumulator(d);
        var selection = new RowSelection(labelled, d, RowOrder.Updates);
        await foreach (var page in table.ScanAsync(cancellationToken: cancellationToken))
        {
            var values = page.Values.Values;
            for (int r = 0; r < page.Ids.Length; r++)
            {
                acc.Add(values.Slice(r * d, d));
            }

            selection.Offer(page);
        }

        if (acc.Count < 2)
        {
            throw new InvalidOperationException($"Table {table.Spec.Name} holds {acc.Count} row{(acc.Count == 1 ? "" : "s")}; a PCA needs at least 2.");
        }

        var mean = acc.Mean();
        var basis = PrincipalComponents.Compute(acc.Covariance(), d, 2);
        var xs = new List<float>((int)Math.Min(acc.Count, int.MaxValue / 2));
        var ys = new List<float>(xs.Capacity);
        await foreach (var page in table.ScanAsync(cancellationToken: cancellationToken))
        {
            var values = page.Values.Values;
            for (int r = 0; r < page.Ids.Length; r++)
            {
                var (x, y) = Project(values.Slice(r * d, d), mean, basis);
                xs.Add(x);
                ys.Add(y);
            }
        }

        var picked = selection.Result();
        var lx = new float[picked.Ids.Length];
        var ly = new float[picked.Ids.Length];
        for (int r = 0; r < lx.Length; r++)
        {
            (lx[r], ly[r]) = Project(picked.Row(r), mean, basis);
        }

        return new PcaMap(table.Spec.Name, acc.Count, d, mean, basis, [.. xs], [.. ys], picked, lx, ly);
    }

    /// <summary>The coordinates of <paramref name="row"/> on the first two components: <c>(row − mean)·e₁, (row − mean)·e₂</c>.</summary>
    public static (float X, float Y) Project(ReadOnlySpan<float> row, double[] mean, PcaBasis basis)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(basis);
        double x = 0, y = 0;
        double[] e1 = basis.Components[0], e2 = basis.Components[1];
        for (int j = 0; j < row.Length; j++)
        {
            double c = row[j] - mean[j];
            x += c * e1[j];
            y += c * e2[j];
        }

        return ((float)x, (float)y);
    }
}

/// <summary>A table projected on its first two principal components.</summary>
/// <param name="Table">The table.</param>
/// <param name="Rows">Rows in the covariance (the first scan).</param>
/// <param name="Dim">Values per row.</param>
/// <param name="Mean">The mean row.</param>
/// <param name="Basis">The components and their variances.</param>
/// <param name="X">PC1 coordinate of every row (the second scan), in scan order.</param>
/// <param name="Y">PC2 coordinate of every row.</param>
/// <param name="Labelled">The most updated rows.</param>
/// <param name="LabelledX">Their PC1 coordinates.</param>
/// <param name="LabelledY">Their PC2 coordinates.</param>
public sealed record PcaMap(string Table, long Rows, int Dim, double[] Mean, PcaBasis Basis, float[] X, float[] Y, SelectedRows Labelled, float[] LabelledX, float[] LabelledY);
