namespace ParameterServer.Core.Data;

/// <summary>
/// The seeded random train/validation split every reader's data set uses: a Fisher-Yates permutation of the row
/// indexes with <see cref="Random"/>(seed); the first <c>(1 − validationFraction)·count</c> train, the rest validate.
/// Two data sets with the same number of rows (a ratings file and a tabular file read from the same lines) split
/// into the same rows.
/// </summary>
public static class SeededSplit
{
    /// <summary>The training and validation row indexes of <paramref name="count"/> rows.</summary>
    public static (int[] Train, int[] Validation) Indexes(int count, double validationFraction, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!(validationFraction > 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in (0, 1).");
        }

        int[] perm = new int[count];
        for (int i = 0; i < perm.Length; i++)
        {
            perm[i] = i;
        }

        new Random(seed).Shuffle(perm);
        int nTrain = (int)((1 - validationFraction) * count);
        return (perm[..nTrain], perm[nTrain..]);
    }
}
