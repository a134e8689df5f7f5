namespace ParameterServer.Core.Metrics;

/// <summary>Figures of a binary classifier: log loss, accuracy and the area under the ROC curve.</summary>
public static class BinaryMetrics
{
    /// <summary>Probabilities are clamped to [ε, 1 − ε] so one confident mistake costs at most −log ε.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>Mean log loss of probabilities <paramref name="p"/> for 0/1 <paramref name="labels"/>.</summary>
    public static double LogLoss(ReadOnlySpan<float> p, ReadOnlySpan<float> labels)
    {
        Check(p, labels);
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double q = Math.Clamp(p[i], Epsilon, 1 - Epsilon);
            sum -= labels[i] > 0.5f ? Math.Log(q) : Math.Log(1 - q);
        }

        return p.IsEmpty ? double.NaN : sum / p.Length;
    }

    /// <summary>The share of samples whose probability falls on their label's side of 0.5.</summary>
    public static double Accuracy(ReadOnlySpan<float> p, ReadOnlySpan<float> labels)
    {
        Check(p, labels);
        int right = 0;
        for (int i = 0; i < p.Length; i++)
        {
            right += (p[i] >= 0.5f) == (labels[i] > 0.5f) ? 1 : 0;
        }

        return p.IsEmpty ? double.NaN : (double)right / p.Length;
    }

    /// <summary>
    /// Area under the ROC curve: the chance that a random positive scores above a random negative, ties counting
    /// one half (Mann-Whitney with mid-ranks). 0.5 when one class is absent.
    /// </summary>
    public static double Auc(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        Check(scores, labels);
        int n = scores.Length;
        int[] order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        float[] keys = scores.ToArray();
        Array.Sort(keys, order);
        double positiveRankSum = 0;
        long positives = 0;
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end < n && keys[end] == keys[start])
            {
                end++;
            }

            double midRank = ((start + 1) + end) / 2.0;
            for (int k = start; k < end; k++)
            {
                if (labels[order[k]] > 0.5f)
                {
                    positiveRankSum += midRank;
                    positives++;
                }
            }

            start = end;
        }

        long negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return 0.5;
        }

        return (positiveRankSum - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
    }

    private static void Check(ReadOnlySpan<float> p, ReadOnlySpan<float> labels)
    {
        if (p.Length != labels.Length)
        {
            throw new ArgumentException($"{p.Length} scores for {labels.Length} labels.");
        }
    }
}
