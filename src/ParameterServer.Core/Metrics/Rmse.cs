namespace ParameterServer.Core.Metrics;

/// <summary>Accumulates squared errors and reports the root mean squared error.</summary>
public struct RmseAccumulator
{
    private double _sum;
    private long _count;

    /// <summary>Adds one squared error.</summary>
    public void Add(double squaredError)
    {
        _sum += squaredError;
        _count++;
    }

    /// <summary>Merges another accumulator.</summary>
    public void Add(RmseAccumulator other)
    {
        _sum += other._sum;
        _count += other._count;
    }

    /// <summary>Samples seen.</summary>
    public readonly long Count => _count;

    /// <summary>Mean squared error (NaN when empty).</summary>
    public readonly double Mse => _count == 0 ? double.NaN : _sum / _count;

    /// <summary>Root mean squared error (NaN when empty).</summary>
    public readonly double Rmse => Math.Sqrt(Mse);

    /// <summary>The root mean squared error of <paramref name="predictions"/> against <paramref name="targets"/>.</summary>
    public static double Between(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        if (predictions.Length != targets.Length)
        {
            throw new ArgumentException($"{predictions.Length} predictions for {targets.Length} targets.");
        }

        var acc = default(RmseAccumulator);
        for (int k = 0; k < predictions.Length; k++)
        {
            float e = predictions[k] - targets[k];
            acc.Add(e * e);
        }

        return acc.Rmse;
    }
}
