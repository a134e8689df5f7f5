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

    /// <summary>
    /// K-fold cross-validation of <paramref name="count"/> rows: the same seeded permutation as
    /// <see cref="Indexes"/>, cut into <paramref name="folds"/> contiguous folds of sizes differing by at most one;
    /// fold f validates on its rows and trains on every other row. Each row is validated exactly once.
    /// </summary>
    public static IEnumerable<(int[] Train, int[] Validation)> Folds(int count, int folds, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (folds < 2 || folds > count)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds, $"Cross-validation needs 2 to {count} folds (one row each at least).");
        }

        int[] perm = new int[count];
        for (int i = 0; i < perm.Length; i++)
        {
            perm[i] = i;
        }

        new Random(seed).Shuffle(perm);
        for (int f = 0; f < folds; f++)
        {
            int from = (int)((long)count * f / folds), to = (int)((long)count * (f + 1) / folds);
            yield return ([.. perm[..from], .. perm[to..]], perm[from..to]);
        }
    }
}
