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
    public (float Mean, float Min, float Max) Summary()
    {
        if (Count == 0)
        {
            return (0f, 0f, 0f);
        }

        double sum = 0;
        float min = float.MaxValue, max = float.MinValue;
        foreach (float v in Values)
        {
            sum += v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        return ((float)(sum / Count), min, max);
    }

    /// <summary>
    /// A seeded random split: a Fisher-Yates permutation of the rows with <see cref="Random"/>(seed); the first
    /// <c>(1 − validationFraction)</c> train, the rest validate.
    /// </summary>
    public (Ratings Train, Ratings Validation) Split(double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in (0, 1).");
        }

        int[] perm = new int[Count];
        for (int i = 0; i < perm.Length; i++)
        {
            perm[i] = i;
        }

        new Random(seed).Shuffle(perm);
        int nTrain = (int)((1 - validationFraction) * Count);
        return (Select(perm.AsSpan(0, nTrain)), Select(perm.AsSpan(nTrain)));
    }
}
