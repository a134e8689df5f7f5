namespace ParameterServer.Core.Data;

/// <summary>Mean and standard deviation of each numeric column, to standardize it as <c>(x − mean) / std</c>.</summary>
/// <param name="Mean">Mean per numeric column.</param>
/// <param name="Std">Standard deviation per numeric column (1 for a constant column, which then only loses its mean).</param>
public sealed record NumericScaling(float[] Mean, float[] Std);

/// <summary>
/// Rows of a tabular data set held column-wise: for each categorical column the row ids of its values
/// (<see cref="Hashing.StableHash"/> of the value's text), the numeric columns row-major, and the targets.
/// </summary>
public sealed class TabularData
{
    /// <summary>Creates a data set over the given columns, which must all have <paramref name="targets"/>' length.</summary>
    public TabularData(TabularSchema schema, long[][] categories, float[] numeric, float[] targets, IReadOnlyList<IReadOnlyDictionary<long, string>> labels)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(numeric);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(labels);
        if (categories.Length != schema.Categorical.Count || labels.Count != schema.Categorical.Count
            || categories.Any(c => c.Length != targets.Length) || numeric.Length != targets.Length * schema.Numeric.Count)
        {
            throw new ArgumentException($"Column lengths do not match {targets.Length} rows of {schema.Categorical.Count} categorical and {schema.Numeric.Count} numeric columns.");
        }

        Schema = schema;
        Categories = categories;
        Numeric = numeric;
        Targets = targets;
        Labels = labels;
    }

    /// <summary>The columns.</summary>
    public TabularSchema Schema { get; }

    /// <summary>Row ids per categorical column: <c>Categories[column][row]</c>.</summary>
    public long[][] Categories { get; }

    /// <summary>Numeric values, row-major: <c>Numeric[row * NumericCount + column]</c>.</summary>
    public float[] Numeric { get; }

    /// <summary>Targets (0 or 1 for a binary task).</summary>
    public float[] Targets { get; }

    /// <summary>Per categorical column, the text of each row id (every value of the whole file, shared by its splits).</summary>
    public IReadOnlyList<IReadOnlyDictionary<long, string>> Labels { get; }

    /// <summary>Rows.</summary>
    public int Count => Targets.Length;

    /// <summary>Numeric columns.</summary>
    public int NumericCount => Schema.Numeric.Count;

    /// <summary>Rows of the source that were skipped as malformed (with skip-bad-rows).</summary>
    public int SkippedRows { get; init; }

    /// <summary>The rows at <paramref name="indexes"/>, in that order.</summary>
    public TabularData Select(ReadOnlySpan<int> indexes)
    {
        int m = NumericCount;
        var categories = new long[Categories.Length][];
        for (int c = 0; c < categories.Length; c++)
        {
            categories[c] = new long[indexes.Length];
        }

        var numeric = new float[indexes.Length * m];
        var targets = new float[indexes.Length];
        for (int k = 0; k < indexes.Length; k++)
        {
            int i = indexes[k];
            for (int c = 0; c < categories.Length; c++)
            {
                categories[c][k] = Categories[c][i];
            }

            Numeric.AsSpan(i * m, m).CopyTo(numeric.AsSpan(k * m, m));
            targets[k] = Targets[i];
        }

        return new TabularData(Schema, categories, numeric, targets, Labels);
    }

    /// <summary>A seeded random split of the rows (<see cref="SeededSplit"/>: the same rows as a ratings file of as many lines).</summary>
    public (TabularData Train, TabularData Validation) Split(double validationFraction, int seed)
    {
        var (train, validation) = SeededSplit.Indexes(Count, validationFraction, seed);
        return (Select(train), Select(validation));
    }

    /// <summary>Mean and standard deviation (population) of each numeric column, in double precision.</summary>
    public NumericScaling NumericMoments()
    {
        int m = NumericCount;
        var mean = new float[m];
        var std = new float[m];
        for (int j = 0; j < m; j++)
        {
            double sum = 0, sumSq = 0;
            for (int i = 0; i < Count; i++)
            {
                double x = Numeric[(i * m) + j];
                sum += x;
                sumSq += x * x;
            }

            double mu = Count == 0 ? 0 : sum / Count;
            double variance = Count == 0 ? 0 : Math.Max(0, (sumSq / Count) - (mu * mu));
            mean[j] = (float)mu;
            std[j] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }

        return new NumericScaling(mean, std);
    }

    /// <summary>A copy whose numeric columns are standardized with <paramref name="scaling"/>.</summary>
    public TabularData Standardized(NumericScaling scaling)
    {
        ArgumentNullException.ThrowIfNull(scaling);
        int m = NumericCount;
        if (scaling.Mean.Length != m || scaling.Std.Length != m)
        {
            throw new ArgumentException($"Scaling of {scaling.Mean.Length} columns for {m} numeric columns.", nameof(scaling));
        }

        var numeric = new float[Numeric.Length];
        for (int i = 0; i < Count; i++)
        {
            for (int j = 0; j < m; j++)
            {
                numeric[(i * m) + j] = (Numeric[(i * m) + j] - scaling.Mean[j]) / scaling.Std[j];
            }
        }

        return new TabularData(Schema, Categories, numeric, Targets, Labels) { SkippedRows = SkippedRows };
    }

    /// <summary>Mean, lowest and highest target (0 when empty).</summary>
    public (float Mean, float Min, float Max) TargetSummary() => ValueSummary.Of(Targets);
}
