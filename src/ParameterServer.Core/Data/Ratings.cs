namespace ParameterServer.Core.Data;

/// <summary>Rating triples held column-wise: <c>(Users[i], Items[i], Values[i])</c>.</summary>
public sealed class Ratings
{
    /// <summary>Creates a set over the given columns, which must have equal lengths.</summary>
    public Ratings(long[] users, long[] items, float[] values)
    {
        if (users.Length != items.Length || users.Length != values.Length)
        {
            throw new ArgumentException($"Column lengths differ: {users.Length} users, {items.Length} items, {values.Length} values.");
        }

        Users = users;
        Items = items;
        Values = values;
    }

    /// <summary>User ids.</summary>
    public long[] Users { get; }

    /// <summary>Item ids.</summary>
    public long[] Items { get; }

    /// <summary>Ratings.</summary>
    public float[] Values { get; }

    /// <summary>Number of triples.</summary>
    public int Count => Users.Length;

    /// <summary>Rows of the source that were skipped as malformed (with skip-bad-rows).</summary>
    public int SkippedRows { get; init; }

    /// <summary>The triples at <paramref name="indexes"/>, in that order.</summary>
    public Ratings Select(ReadOnlySpan<int> indexes)
    {
        var u = new long[indexes.Length];
        var it = new long[indexes.Length];
        var v = new float[indexes.Length];
        for (int k = 0; k < indexes.Length; k++)
        {
            int i = indexes[k];
            u[k] = Users[i];
            it[k] = Items[i];
            v[k] = Values[i];
        }

        return new Ratings(u, it, v);
    }

    /// <summary>Mean, lowest and highest rating (0 when empty).</summary>
    public (float Mean, float Min, float Max) Summary() => ValueSummary.Of(Values);

    /// <summary>A seeded random split of the triples (<see cref="SeededSplit"/>).</summary>
    public (Ratings Train, Ratings Validation) Split(double validationFraction, int seed)
    {
        var (train, validation) = SeededSplit.Indexes(Count, validationFraction, seed);
        return (Select(train), Select(validation));
    }

    /// <summary>The <paramref name="folds"/> seeded cross-validation splits of the triples (<see cref="SeededSplit.Folds"/>).</summary>
    public IEnumerable<(Ratings Train, Ratings Validation)> Folds(int folds, int seed) =>
        SeededSplit.Folds(Count, folds, seed).Select(f => (Select(f.Train), Select(f.Validation)));
}
