namespace ParameterServer.Core.Metrics;

/// <summary>Ranking metrics of a link model.</summary>
public static class Auc
{
    /// <summary>
    /// Area under the ROC curve: the probability that a random positive scores above a random negative, ties
    /// counting one half (the Mann–Whitney statistic), computed by sorting in O(n log n). NaN when either side is empty.
    /// </summary>
    public static double Of(ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives)
    {
        if (positives.Length == 0 || negatives.Length == 0)
        {
            return double.NaN;
        }

        var all = new (float Score, bool Positive)[positives.Length + negatives.Length];
        for (int i = 0; i < positives.Length; i++)
        {
            all[i] = (positives[i], true);
        }

        for (int i = 0; i < negatives.Length; i++)
        {
            all[positives.Length + i] = (negatives[i], false);
        }

        Array.Sort(all, (a, b) => a.Score.CompareTo(b.Score));

        // Sum of the positives' ranks (1-based, ties get their average rank).
        double rankSum = 0;
        for (int i = 0; i < all.Length;)
        {
            int j = i;
            int pos = 0;
            while (j < all.Length && all[j].Score.CompareTo(all[i].Score) == 0)
            {
                pos += all[j].Positive ? 1 : 0;
                j++;
            }

            rankSum += pos * ((i + 1 + j) / 2.0);
            i = j;
        }

        double np = positives.Length, nn = negatives.Length;
        return (rankSum - (np * (np + 1) / 2)) / (np * nn);
    }
}
